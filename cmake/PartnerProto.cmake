# partner_proto_library(NAME PROTOS file.proto ... [GRPC] [IMPORT_DIR dir])
# Generates C++ messages (and, with GRPC, callback-capable stubs with mock code) for protos that
# live under IMPORT_DIR, into a static library whose headers are SYSTEM includes.
function(partner_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "IMPORT_DIR" "PROTOS" ${ARGN})
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/gen")
  file(MAKE_DIRECTORY "${out_dir}")
  set(generated)
  foreach(proto IN LISTS ARG_PROTOS)
    get_filename_component(abs "${ARG_IMPORT_DIR}/${proto}" ABSOLUTE)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(outputs "${out_dir}/${stem}.pb.cc" "${out_dir}/${stem}.pb.h")
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outputs "${out_dir}/${stem}.grpc.pb.cc" "${out_dir}/${stem}.grpc.pb.h"
           "${out_dir}/${stem}_mock.grpc.pb.h")
      set(plugin_args "--grpc_out=generate_mock_code=true:${out_dir}"
          "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc
      ARGS --proto_path=${ARG_IMPORT_DIR} --proto_path=${Protobuf_INCLUDE_DIR}
           --cpp_out=${out_dir} ${plugin_args} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND generated ${outputs})
  endforeach()
  list(FILTER generated INCLUDE REGEX "\\.cc$")
  add_library(${name} STATIC ${generated})
  target_include_directories(${name} SYSTEM PUBLIC "${out_dir}")
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf)
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
endfunction()

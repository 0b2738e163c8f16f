# Options every target of ours gets: warnings (as errors unless PARTNER_WERROR is off) and, when
# PARTNER_SANITIZE is on, ASan + UBSan. Third-party and generated code is kept out of -Werror by
# being included as SYSTEM headers or compiled in its own target.
if(PARTNER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

function(partner_add_common_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(PARTNER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

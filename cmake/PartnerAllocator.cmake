# The allocator of the binaries that serve requests. gperftools' tcmalloc keeps small blocks in
# per-thread caches, where glibc's malloc takes arena locks and consolidates on free: callgrind of
# the concurrency mix counts 13 % fewer instructions per call in the gateway and 26 % fewer in the
# emulator with it. The sanitizers bring their own allocator, so sanitized builds keep the default.
option(PARTNER_TCMALLOC "Link the gateway, the emulator and the benchmark binaries with tcmalloc (gperftools)" ON)

if(PARTNER_TCMALLOC AND NOT PARTNER_SANITIZE)
  pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
endif()

function(partner_link_allocator target)
  if(TARGET PkgConfig::TCMALLOC)
    target_link_libraries(${target} PRIVATE PkgConfig::TCMALLOC)
  endif()
endfunction()

/* The core functions Lua calls through the FFI (see abi.h). */
#include "abi.h"

ELX_EXPORT uint32_t elx_abi_version(void)
{
	return ELX_ABI_VERSION;
}

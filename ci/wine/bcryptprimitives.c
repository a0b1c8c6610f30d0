/* Test scaffolding for running the Windows build under Wine 8.0; never shipped.
 *
 * Rust's standard library (1.78 and later) draws random numbers with ProcessPrng from
 * bcryptprimitives.dll, which Wine 8.0 lacks. This shim exports ProcessPrng and forwards it to
 * SystemFunction036 (RtlGenRandom) in advapi32, which Wine has. ci/windows.sh builds it with mingw
 * into the Wine prefix's system32. */
#include <windows.h>

typedef BOOLEAN(WINAPI *rtl_gen_random)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    static rtl_gen_random gen;
    if (!gen) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (!advapi)
            return FALSE;
        gen = (rtl_gen_random)(void *)GetProcAddress(advapi, "SystemFunction036");
        if (!gen)
            return FALSE;
    }
    while (len) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!gen(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

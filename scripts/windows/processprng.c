/* A stand-in for Windows 10's `bcryptprimitives.dll`, for Wine 8.0 (Debian 12)
 * only, which lacks `ProcessPrng`: Rust's std imports it, and without it every
 * Rust program ends with status 53 before `main`. It fills the buffer from
 * `RtlGenRandom` (advapi32's `SystemFunction036`), the call std used before.
 * scripts/windows.sh builds it and copies it into the Wine prefix only. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

/* A stand-in for Windows' bcryptprimitives.dll, which Wine 8 lacks. Rust's
 * std (1.78 and later) takes its random bytes from ProcessPrng there; this
 * one asks advapi32's RtlGenRandom (SystemFunction036), which Wine has.
 * Built and used by .ci/wine-run.sh only: never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

/*
 * A stand-in bcryptprimitives.dll for running Go programs under Wine 8,
 * which lacks it: Go's runtime on Windows (1.22 and later) draws its
 * random numbers from ProcessPrng there. This one forwards to
 * RtlGenRandom (advapi32's SystemFunction036). For tests under Wine only:
 * built by scripts/wine-setup.sh into a temporary folder, never shipped,
 * never committed as a binary. Real Windows has its own.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

// <immintrin.h> for the AVX-512 translation units. GCC 12's AVX-512 headers initialise their
// "undefined" operands with themselves (`__m512 __Y = __Y;`), which -Wall reports as
// maybe-uninitialized wherever an intrinsic is inlined (GCC bug 105593, fixed in GCC 13);
// the warning is about the header, not us, so it is silenced around the include only.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

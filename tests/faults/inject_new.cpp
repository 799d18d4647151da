// C++ operator new for the objects linked with -Wl,--wrap=_Znwm,--wrap=_Znam:
// a failure throws std::bad_alloc, as the real one does.
#include <cstddef>
#include <new>

extern "C" {
#include "inject.h"

void *__real__Znwm(std::size_t bytes);
void *__real__Znam(std::size_t bytes);
void *__wrap__Znwm(std::size_t bytes);
void *__wrap__Znam(std::size_t bytes);
}

void *__wrap__Znwm(std::size_t bytes)
{
    if (fault_take(FAULT_NEW, __builtin_return_address(0)))
        throw std::bad_alloc();
    return __real__Znwm(bytes);
}

void *__wrap__Znam(std::size_t bytes)
{
    if (fault_take(FAULT_NEW, __builtin_return_address(0)))
        throw std::bad_alloc();
    return __real__Znam(bytes);
}

#include "q8.h"
int main (void) { return 0; }

/* Sv48 paging: the same checks as sv39.c with a 4-level table. */
#define LEVELS 4
#define SATP_MODE SATP_MODE_SV48
#include "paging.h"

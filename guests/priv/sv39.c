/* Sv39 paging: 3-level walks with 4K/2M/1G leaves, page faults 12/13/15 with stval/mtval =
   faulting VA, A/D updates, R/W/X/U permission checks, SUM, MXR, MPRV, superpage alignment. */
#define LEVELS 3
#define SATP_MODE SATP_MODE_SV39
#include "paging.h"

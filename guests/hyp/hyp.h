/* Helpers for the hypervisor extension's tests. Debian's GCC 12 does not take H in -march, so
   its instructions are assembled with the extension enabled around them. */
#ifndef ISOMORPH_HYP_H
#define ISOMORPH_HYP_H

#define WITH_H(insn) ".option push\n.option arch, +h\n" insn "\n.option pop"

#endif

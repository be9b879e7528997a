/* dispatch.c - the only file that knows the CPU.
 *
 * It detects the CPU's features once, and maps each ISA path to a table of
 * kernels.  The active path is the best one the build and the CPU support,
 * limited by q8_set_isa_limit () or the environment variable Q8_ISA (an ISA
 * name such as "scalar" or "avx2"), so tests and benchmarks can walk every
 * path.  Later ISAs add a table here and nowhere else.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13) /* Linux 5.10; older headers lack it */
#endif
#endif

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

/* The element-wise, pooling and data-movement entries shared by tables:
 * the scalar ones (ARM paths add SIMD convolutions and the nearest-
 * neighbour search), and the AVX2
 * ones every x86 path uses (each x86 table adds its depth-to-space,
 * resize and nearest-neighbour search). */
#define ELEMENTWISE_SCALAR                                                    \
  .lut = q8_s8_lut__scalar, .lut_channels = q8_s8_lut_channels__scalar,      \
  .add = q8_s8_add_requant__scalar, .rescale = q8_rescale__scalar,           \
  .depth_to_space = q8_s8_depth_to_space__scalar,                            \
  .maxpool = q8_s8_maxpool__scalar, .avgpool = q8_s8_avgpool__scalar,        \
  .resize = q8_s8_resize__scalar
#define ELEMENTWISE_AVX2                                                      \
  .lut = q8_s8_lut__scalar, .lut_channels = q8_s8_lut_channels__scalar,      \
  .add = q8_s8_add_requant__avx2, .rescale = q8_rescale__avx2,               \
  .maxpool = q8_s8_maxpool__avx2, .avgpool = q8_s8_avgpool__scalar

static const q8_conv_ukernel conv_scalar = {
  .name = "q8_s8_conv2d_requant__scalar",
  .isa = Q8_ISA_SCALAR,
  .accepts = NULL,
  .packed_size = q8_s8_conv2d_packed_size__scalar,
  .pack = q8_s8_conv2d_pack__scalar,
  .run = q8_s8_conv2d_requant__scalar,
};

static const q8_conv_ukernel *const conv_list_scalar[] = { &conv_scalar };

static const q8_kernel_table table_scalar = {
  .isa = Q8_ISA_SCALAR,
  .conv = conv_list_scalar,
  .n_conv = sizeof conv_list_scalar / sizeof conv_list_scalar[0],
  ELEMENTWISE_SCALAR,
  .l2nn = q8_u8_l2nn__scalar,
};

#if defined(Q8_HAVE_NEON)
static const q8_conv_ukernel conv_neon = {
  .name = "q8_s8_conv2d_requant__neon",
  .isa = Q8_ISA_NEON,
  .accepts = q8_s8_conv2d_accepts__neon,
  .packed_size = q8_s8_conv2d_packed_size__neon,
  .pack = q8_s8_conv2d_pack__neon,
  .run = q8_s8_conv2d_requant__neon,
};

/* Depthwise (groups = in_c = out_c): channels in the lanes. */
static const q8_conv_ukernel conv_neon_dw = {
  .name = "q8_s8_dwconv2d_requant__neon",
  .isa = Q8_ISA_NEON,
  .accepts = q8_s8_dwconv2d_accepts__neon,
  .packed_size = q8_s8_dwconv2d_packed_size__neon,
  .pack = q8_s8_dwconv2d_pack__neon,
  .run = q8_s8_dwconv2d_requant__neon,
};

static const q8_conv_ukernel *const conv_list_neon[] = {
  &conv_neon_dw, &conv_neon, &conv_scalar
};

static const q8_kernel_table table_neon = {
  .isa = Q8_ISA_NEON,
  .conv = conv_list_neon,
  .n_conv = sizeof conv_list_neon / sizeof conv_list_neon[0],
  ELEMENTWISE_SCALAR,
  .l2nn = q8_u8_l2nn__neon,
};
#endif

#if defined(Q8_HAVE_NEONDOT)
#if !defined(Q8_HAVE_NEON)
#error "the NEON dotprod table uses the NEON depthwise kernel"
#endif
static const q8_conv_ukernel conv_neondot = {
  .name = "q8_s8_conv2d_requant__neondot",
  .isa = Q8_ISA_NEONDOT,
  .accepts = q8_s8_conv2d_accepts__neondot,
  .packed_size = q8_s8_conv2d_packed_size__neondot,
  .pack = q8_s8_conv2d_pack__neondot,
  .run = q8_s8_conv2d_requant__neondot,
};

/* Depthwise layers have no long dot products for sdot: the NEON kernel
 * (one packed copy serves both tables). */
static const q8_conv_ukernel *const conv_list_neondot[] = {
  &conv_neon_dw, &conv_neondot, &conv_scalar
};

static const q8_kernel_table table_neondot = {
  .isa = Q8_ISA_NEONDOT,
  .conv = conv_list_neondot,
  .n_conv = sizeof conv_list_neondot / sizeof conv_list_neondot[0],
  ELEMENTWISE_SCALAR,
  .l2nn = q8_u8_l2nn__neondot,
};
#endif

#if defined(Q8_HAVE_NEONI8MM)
#if !defined(Q8_HAVE_NEONDOT)
#error "the i8mm table falls back on the neondot kernel"
#endif
static const q8_conv_ukernel conv_neoni8mm = {
  .name = "q8_s8_conv2d_requant__neoni8mm",
  .isa = Q8_ISA_NEONI8MM,
  .accepts = q8_s8_conv2d_accepts__neoni8mm,
  .packed_size = q8_s8_conv2d_packed_size__neoni8mm,
  .pack = q8_s8_conv2d_pack__neoni8mm,
  .run = q8_s8_conv2d_requant__neoni8mm,
};

/* smmla before sdot: the neondot kernel takes what the i8mm one refuses
 * (today nothing: both accept every span up to Q8_SPAN_MAX).  Depthwise
 * layers take the NEON kernel, as in the neondot table. */
static const q8_conv_ukernel *const conv_list_neoni8mm[] = {
  &conv_neon_dw, &conv_neoni8mm, &conv_neondot, &conv_scalar
};

static const q8_kernel_table table_neoni8mm = {
  .isa = Q8_ISA_NEONI8MM,
  .conv = conv_list_neoni8mm,
  .n_conv = sizeof conv_list_neoni8mm / sizeof conv_list_neoni8mm[0],
  ELEMENTWISE_SCALAR,
  .l2nn = q8_u8_l2nn__neondot,
};
#endif

#if defined(Q8_HAVE_AVX2)
static const q8_conv_ukernel conv_avx2 = {
  .name = "q8_s8_conv2d_requant__avx2",
  .isa = Q8_ISA_AVX2,
  .accepts = q8_s8_conv2d_accepts__avx2,
  .packed_size = q8_s8_conv2d_packed_size__avx2,
  .pack = q8_s8_conv2d_pack__avx2,
  .run = q8_s8_conv2d_requant__avx2,
};

/* Depthwise (groups = in_c = out_c): channels in the lanes. */
static const q8_conv_ukernel conv_avx2_dw = {
  .name = "q8_s8_dwconv2d_requant__avx2",
  .isa = Q8_ISA_AVX2,
  .accepts = q8_s8_dwconv2d_accepts__avx2,
  .packed_size = q8_s8_dwconv2d_packed_size__avx2,
  .pack = q8_s8_dwconv2d_pack__avx2,
  .run = q8_s8_dwconv2d_requant__avx2,
};

static const q8_conv_ukernel *const conv_list_avx2[] = {
  &conv_avx2_dw, &conv_avx2, &conv_scalar
};

static const q8_kernel_table table_avx2 = {
  .isa = Q8_ISA_AVX2,
  .conv = conv_list_avx2,
  .n_conv = sizeof conv_list_avx2 / sizeof conv_list_avx2[0],
  ELEMENTWISE_AVX2,
  .depth_to_space = q8_s8_depth_to_space__scalar,
  .resize = q8_s8_resize__avx2,
  .l2nn = q8_u8_l2nn__avx2,
};
#endif

#if defined(Q8_HAVE_AVXVNNI)
#if !defined(Q8_HAVE_AVX2)
#error "the AVX-VNNI table uses the AVX2 element-wise kernels"
#endif
static const q8_conv_ukernel conv_avxvnni = {
  .name = "q8_s8_conv2d_requant__avxvnni",
  .isa = Q8_ISA_AVXVNNI,
  .accepts = q8_s8_conv2d_accepts__avxvnni,
  .packed_size = q8_s8_conv2d_packed_size__avxvnni,
  .pack = q8_s8_conv2d_pack__avxvnni,
  .run = q8_s8_conv2d_requant__avxvnni,
};

/* One input channel (the first ESPCN layer): taps packed across rows. */
static const q8_conv_ukernel conv_avxvnni_ic1 = {
  .name = "q8_s8_conv2d_requant_ic1__avxvnni",
  .isa = Q8_ISA_AVXVNNI,
  .accepts = q8_s8_conv2d_accepts_ic1__avxvnni,
  .packed_size = q8_s8_conv2d_packed_size_ic1__avxvnni,
  .pack = q8_s8_conv2d_pack_ic1__avxvnni,
  .run = q8_s8_conv2d_requant_ic1__avxvnni,
};

/* Depthwise layers take the AVX2 kernel (no dot product over channels). */
static const q8_conv_ukernel *const conv_list_avxvnni[] = {
  &conv_avx2_dw, &conv_avxvnni_ic1, &conv_avxvnni, &conv_scalar
};

/* Element-wise kernels are the AVX2 ones (AVX-VNNI implies AVX2). */
static const q8_kernel_table table_avxvnni = {
  .isa = Q8_ISA_AVXVNNI,
  .conv = conv_list_avxvnni,
  .n_conv = sizeof conv_list_avxvnni / sizeof conv_list_avxvnni[0],
  ELEMENTWISE_AVX2,
  .depth_to_space = q8_s8_depth_to_space__scalar,
  .resize = q8_s8_resize__avx2,
  .l2nn = q8_u8_l2nn__avx2,
};
#endif

#if defined(Q8_HAVE_AVX512VNNI)
#if !defined(Q8_HAVE_AVX2)
#error "the AVX-512 VNNI table uses the AVX2 element-wise kernels"
#endif
static const q8_conv_ukernel conv_avx512vnni = {
  .name = "q8_s8_conv2d_requant__avx512vnni",
  .isa = Q8_ISA_AVX512VNNI,
  .accepts = q8_s8_conv2d_accepts__avx512vnni,
  .packed_size = q8_s8_conv2d_packed_size__avx512vnni,
  .pack = q8_s8_conv2d_pack__avx512vnni,
  .run = q8_s8_conv2d_requant__avx512vnni,
};

/* Few output channels (the last ESPCN layer): pixels in the lanes. */
static const q8_conv_ukernel conv_avx512vnni_16p = {
  .name = "q8_s8_conv2d_requant_16p__avx512vnni",
  .isa = Q8_ISA_AVX512VNNI,
  .accepts = q8_s8_conv2d_accepts_16p__avx512vnni,
  .packed_size = q8_s8_conv2d_packed_size_16p__avx512vnni,
  .pack = q8_s8_conv2d_pack_16p__avx512vnni,
  .run = q8_s8_conv2d_requant_16p__avx512vnni,
};

/* One input channel (the first ESPCN layer): taps packed across rows. */
static const q8_conv_ukernel conv_avx512vnni_ic1 = {
  .name = "q8_s8_conv2d_requant_ic1__avx512vnni",
  .isa = Q8_ISA_AVX512VNNI,
  .accepts = q8_s8_conv2d_accepts_ic1__avx512vnni,
  .packed_size = q8_s8_conv2d_packed_size_ic1__avx512vnni,
  .pack = q8_s8_conv2d_pack_ic1__avx512vnni,
  .run = q8_s8_conv2d_requant_ic1__avx512vnni,
};

/* Depthwise (groups = in_c = out_c): channels in the lanes. */
static const q8_conv_ukernel conv_avx512vnni_dw = {
  .name = "q8_s8_dwconv2d_requant__avx512vnni",
  .isa = Q8_ISA_AVX512VNNI,
  .accepts = q8_s8_dwconv2d_accepts__avx512vnni,
  .packed_size = q8_s8_dwconv2d_packed_size__avx512vnni,
  .pack = q8_s8_dwconv2d_pack__avx512vnni,
  .run = q8_s8_dwconv2d_requant__avx512vnni,
};

/* Shape-specialized kernels first: the first that accepts a layer wins
 * (few output channels before one input channel: a 1->9 layer has more
 * lanes to fill across pixels than across its 9 channels). */
static const q8_conv_ukernel *const conv_list_avx512vnni[] = {
  &conv_avx512vnni_16p, &conv_avx512vnni_ic1, &conv_avx512vnni_dw,
  &conv_avx512vnni, &conv_scalar
};

/* Element-wise kernels and max pooling are the AVX2 ones (every AVX-512
 * CPU has AVX2); average pooling stays scalar. */
static const q8_kernel_table table_avx512vnni = {
  .isa = Q8_ISA_AVX512VNNI,
  .conv = conv_list_avx512vnni,
  .n_conv = sizeof conv_list_avx512vnni / sizeof conv_list_avx512vnni[0],
  ELEMENTWISE_AVX2,
  .depth_to_space = q8_s8_depth_to_space__avx512vnni,
  .resize = q8_s8_resize__avx512vnni,
  .l2nn = q8_u8_l2nn__avx512vnni,
};
#endif

static const char *const isa_names[Q8_ISA_COUNT] = {
  [Q8_ISA_SCALAR] = "scalar",
  [Q8_ISA_NEON] = "neon",
  [Q8_ISA_NEONDOT] = "neondot",
  [Q8_ISA_NEONI8MM] = "neoni8mm",
  [Q8_ISA_AVX2] = "avx2",
  [Q8_ISA_AVXVNNI] = "avxvnni",
  [Q8_ISA_AVX512VNNI] = "avx512vnni",
};

/* Tables by ISA; NULL where this build has no kernels for it. */
static const q8_kernel_table *const tables[Q8_ISA_COUNT] = {
  [Q8_ISA_SCALAR] = &table_scalar,
#if defined(Q8_HAVE_NEON)
  [Q8_ISA_NEON] = &table_neon,
#endif
#if defined(Q8_HAVE_NEONDOT)
  [Q8_ISA_NEONDOT] = &table_neondot,
#endif
#if defined(Q8_HAVE_NEONI8MM)
  [Q8_ISA_NEONI8MM] = &table_neoni8mm,
#endif
#if defined(Q8_HAVE_AVX2)
  [Q8_ISA_AVX2] = &table_avx2,
#endif
#if defined(Q8_HAVE_AVXVNNI)
  [Q8_ISA_AVXVNNI] = &table_avxvnni,
#endif
#if defined(Q8_HAVE_AVX512VNNI)
  [Q8_ISA_AVX512VNNI] = &table_avx512vnni,
#endif
};

#if defined(__x86_64__) || defined(__i386__)
/* Non-zero if the CPU has AVX-VNNI.  GCC 11 and later know its name; other
 * compilers may not, so they read the CPUID bit. */
static int
cpu_avxvnni (void)
{
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
  return __builtin_cpu_supports ("avxvnni");
#else
  unsigned a, b, c, d;
  return __get_cpuid_count (7, 1, &a, &b, &c, &d) && (a >> 4 & 1);
#endif
}
#endif

/* The CPU's support, detected once. */
static int cpu_has[Q8_ISA_COUNT];
static q8_isa isa_limit = Q8_ISA_COUNT;
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

static void
detect (void)
{
  cpu_has[Q8_ISA_SCALAR] = 1;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init ();
  cpu_has[Q8_ISA_AVX2] = __builtin_cpu_supports ("avx2")
                         && __builtin_cpu_supports ("fma");
  /* AVX-VNNI is the VEX form of vpdpbusd (CPUID leaf 7 subleaf 1, EAX
   * bit 4), on 256-bit registers whose OS support the AVX2 test checked. */
  cpu_has[Q8_ISA_AVXVNNI] = cpu_has[Q8_ISA_AVX2] && cpu_avxvnni ();
  /* The AVX-512 path also uses VBMI (vpermi2b) for fused tables: Ice Lake,
   * Zen 4 and later have it; Cascade Lake (VNNI without VBMI) runs AVX2. */
  cpu_has[Q8_ISA_AVX512VNNI] = __builtin_cpu_supports ("avx512bw")
                               && __builtin_cpu_supports ("avx512vl")
                               && __builtin_cpu_supports ("avx512vnni")
                               && __builtin_cpu_supports ("avx512vbmi");
#endif
#if defined(__aarch64__) && defined(__linux__)
  /* Advanced SIMD is part of the aarch64 baseline. */
  unsigned long hwcap = getauxval (AT_HWCAP);
  unsigned long hwcap2 = getauxval (AT_HWCAP2);
  cpu_has[Q8_ISA_NEON] = 1;
  cpu_has[Q8_ISA_NEONDOT] = (hwcap & HWCAP_ASIMDDP) != 0;
  /* The i8mm table also runs the neondot kernel: both features. */
  cpu_has[Q8_ISA_NEONI8MM] = (hwcap & HWCAP_ASIMDDP) != 0
                             && (hwcap2 & HWCAP2_I8MM) != 0;
#endif

  const char *env = getenv ("Q8_ISA");
  if (env != NULL) {
    for (int i = 0; i < Q8_ISA_COUNT; i++)
      if (strcmp (env, isa_names[i]) == 0)
        isa_limit = (q8_isa) i;
  }
}

const char *
q8_isa_name (q8_isa isa)
{
  return (unsigned) isa < Q8_ISA_COUNT ? isa_names[isa] : "unknown";
}

int
q8_isa_supported (q8_isa isa)
{
  pthread_once (&detect_once, detect);
  return (unsigned) isa < Q8_ISA_COUNT && cpu_has[isa] && tables[isa] != NULL;
}

/* The best supported ISA not above the limit.  The enum orders each
 * architecture's paths from weakest to strongest, and an x86 CPU never
 * supports an ARM path (nor the reverse), so "best" is the highest. */
q8_isa
q8_isa_active (void)
{
  pthread_once (&detect_once, detect);
  q8_isa best = Q8_ISA_SCALAR;
  for (int i = 0; i < Q8_ISA_COUNT; i++)
    if (q8_isa_supported ((q8_isa) i) && (isa_limit == Q8_ISA_COUNT || i <= (int) isa_limit))
      best = (q8_isa) i;
  return best;
}

q8_status
q8_set_isa_limit (q8_isa isa)
{
  pthread_once (&detect_once, detect);
  if (isa == Q8_ISA_COUNT) {
    isa_limit = Q8_ISA_COUNT;
    return Q8_OK;
  }
  if (!q8_isa_supported (isa))
    return Q8_EUNSUPPORTED;
  isa_limit = isa;
  return Q8_OK;
}

/* Thread CPU time in seconds: a preempted loop does not look slower. */
static double
thread_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

double
q8_isa_measure_peak (q8_isa isa, const char **what)
{
  const char *dummy;
  if (what == NULL)
    what = &dummy;
  *what = "not supported by this CPU";
  if (!q8_isa_supported (isa))
    return 0;
  /* Calibrate to about 20 ms, then the best of three such loops. */
  uint64_t iters = 1000;
  double t = 0;
  while (iters < ((uint64_t) 1 << 40)) {
    double t0 = thread_seconds ();
    if (q8__peak_loop (isa, iters, what) == 0)
      return 0;
    t = thread_seconds () - t0;
    if (t > 0.002)
      break;
    iters *= 4;
  }
  iters = (uint64_t) ((double) iters * 0.02 / (t > 0 ? t : 0.002)) + 1;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = thread_seconds ();
    uint64_t macs = q8__peak_loop (isa, iters, what);
    double dt = thread_seconds () - t0;
    if (dt > 0 && (double) macs / dt * 1e-9 > best)
      best = (double) macs / dt * 1e-9;
  }
  return best;
}

const q8_kernel_table *
q8__kernels (void)
{
  return tables[q8_isa_active ()];
}

const q8_kernel_table *
q8__kernels_for (q8_isa isa)
{
  return q8_isa_supported (isa) ? tables[isa] : NULL;
}

const q8_conv_ukernel *
q8__conv_select (const q8_kernel_table *t, const q8_conv_params *p)
{
  for (size_t i = 0; i < t->n_conv; i++)
    if (t->conv[i]->accepts == NULL || t->conv[i]->accepts (p))
      return t->conv[i];
  return NULL; /* unreachable: the last entry accepts everything */
}

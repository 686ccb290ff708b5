// simdnn-bench: every kernel family x every ISA of this architecture x
// shapes from real models, beside optional peer libraries and the memory
// floor, through the public API only. scripts/bench.sh runs it and makes
// the report (scripts/bench_report.py); bench/RESULTS.md says how to read
// it and holds one report from the reference machine.
//
//   simdnn-bench [--full] [--no-peers] [Google Benchmark flags]
//   simdnn-bench --compare A.json B.json [--out DIR]
//       (runs scripts/bench_report.py --compare: two reports side by side)
//
// Working sets: a case whose buffers fit in half the L3 reuses one set
// (it runs from the cache level its size says, as in a model where the
// producer just wrote it); a larger one rotates through enough sets to
// cover 4x the L3 so each call streams from DRAM. The label of every
// result says which ("L1 ws=7.8KiB sets=1").
//
// Benchmarks are named family/op/shape/column. Columns: the ISAs (forced
// with simdnn_set_max_isa and verified with simdnn_family_isa: an ISA the
// CPU, the build or SIMDNN_MAX_ISA excludes is skipped with a visible
// "skipped: ..." error), the peers, and floor-reg / floor-nt (the case's
// floor loop with regular or streaming stores on the same working set).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench.h"
#include "floor.h"
#include "simdnn/simdnn.h"

#ifndef SIMDNN_BENCH_REPORT_SCRIPT
#define SIMDNN_BENCH_REPORT_SCRIPT "scripts/bench_report.py"
#endif

namespace sbench {

void fill_uniform(float *p, size_t count, float lo, float hi,
                  std::mt19937 &rng)
{
    // A cheap generator for large buffers: std::uniform_real_distribution
    // costs ~10 ns per float, too slow for 2^24-float rows.
    uint32_t state = static_cast<uint32_t>(rng()) | 1u;
    const float scale = (hi - lo) * 0x1p-24f;
    for (size_t i = 0; i < count; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        p[i] = lo + static_cast<float>(state >> 8) * scale;
    }
}

namespace {

// ---------------------------------------------------------------------
// The machine: caches and the STREAM-like probe.

struct Machine {
    size_t l1d = 32 << 10, l2 = 512 << 10, l3 = 32 << 20;
    double read_gbps = 0, write_nt_gbps = 0, copy_nt_gbps = 0;
    double write_gbps = 0, copy_gbps = 0, rmw_gbps = 0;
    simdnn_isa env_cap = SIMDNN_ISA_SCALAR;
};
Machine g_machine;

size_t parse_size(const std::string &s)
{
    size_t v = std::strtoull(s.c_str(), nullptr, 10);
    if (s.find('K') != std::string::npos)
        v <<= 10;
    else if (s.find('M') != std::string::npos)
        v <<= 20;
    return v;
}

std::string read_line(const std::string &path)
{
    std::ifstream f(path);
    std::string line;
    if (f)
        std::getline(f, line);
    return line;
}

void detect_caches(Machine &m)
{
    for (int i = 0; i < 8; i++) {
        std::string dir =
            "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i);
        std::string level = read_line(dir + "/level");
        if (level.empty())
            break;
        std::string type = read_line(dir + "/type");
        size_t size = parse_size(read_line(dir + "/size"));
        if (size == 0)
            continue;
        if (level == "1" && type == "Data")
            m.l1d = size;
        else if (level == "2")
            m.l2 = size;
        else if (level == "3")
            m.l3 = size;
    }
}

double now_seconds()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

float *alloc_floats(size_t count)
{
    size_t bytes = (count * sizeof(float) + 63) & ~size_t(63);
    void *p = std::aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        std::fprintf(stderr, "simdnn-bench: out of memory (%zu bytes)\n",
                     bytes);
        std::exit(1);
    }
    return static_cast<float *>(p);
}

volatile float g_sink;

// Best of 7 passes (STREAM's convention) over two buffers of 4x the
// last-level cache (at least 64 MiB each); GB/s count bytes read plus
// bytes written.
void probe_bandwidth(Machine &m)
{
    size_t n = std::max<size_t>(m.l3, 16 << 20);  // floats: 4x L3 bytes
    float *a = alloc_floats(n), *b = alloc_floats(n);
    std::mt19937 rng(1);
    fill_uniform(a, n, -1, 1, rng);
    fill_uniform(b, n, -1, 1, rng);
    auto best = [&](floor_mode mode, const float *src, float *dst, int nt) {
        double t_best = 1e30;
        for (int rep = 0; rep < 7; rep++) {
            double t0 = now_seconds();
            g_sink = floor_run(mode, src, nullptr, dst, n, nt);
            t_best = std::min(t_best, now_seconds() - t0);
        }
        double r, w;
        floor_traffic(mode, n, &r, &w);
        return (r + w) / t_best * 1e-9;
    };
    m.read_gbps = best(FLOOR_READ, a, nullptr, 0);
    m.write_nt_gbps = best(FLOOR_WRITE, nullptr, b, 1);
    m.copy_nt_gbps = best(FLOOR_COPY, a, b, 1);
    m.write_gbps = best(FLOOR_WRITE, nullptr, b, 0);
    m.copy_gbps = best(FLOOR_COPY, a, b, 0);
    m.rmw_gbps = best(FLOOR_RMW, a, a, 0);
    std::free(a);
    std::free(b);
}

// Seconds the floor traffic of a case takes at the probe's bandwidths:
// paired reads and writes at copy speed, the rest at read or write speed.
// In-place updates use the in-place probe (regular stores: the line is
// read anyway, so streaming stores gain nothing there).
double dram_floor_seconds(const Case &k)
{
    double r, w;
    floor_traffic(k.floor, k.floor_n, &r, &w);
    if (k.floor == FLOOR_RMW)
        return (r + w) / (g_machine.rmw_gbps * 1e9);
    double paired = std::min(r, w);
    return 2 * paired / (g_machine.copy_nt_gbps * 1e9) +
           (r - paired) / (g_machine.read_gbps * 1e9) +
           (w - paired) / (g_machine.write_nt_gbps * 1e9);
}

// ---------------------------------------------------------------------
// Working sets: one case's sets live at a time; benchmarks of one case are
// registered together, so each case is allocated and filled once.

size_t set_bytes(const Case &k)
{
    size_t bytes = 0;
    for (size_t f : k.buffer_floats)
        bytes += f * sizeof(float);
    return bytes;
}

const char *residency(const Case &k)
{
    size_t ws = set_bytes(k);
    if (ws <= g_machine.l1d * 3 / 4)
        return "L1";
    if (ws <= g_machine.l2 * 3 / 4)
        return "L2";
    if (ws <= g_machine.l3 / 2)
        return "L3";
    return "DRAM";
}

bool in_dram(const Case &k) { return std::strcmp(residency(k), "DRAM") == 0; }

// DRAM cases rotate through enough sets to cover 4x the last-level cache
// (at most 1 GiB in all), so that no call finds its data left in the
// cache by the previous one; cache cases reuse one set.
size_t set_count(const Case &k)
{
    if (!in_dram(k))
        return 1;
    size_t ws = std::max<size_t>(set_bytes(k), 1);
    size_t want = (4 * g_machine.l3 + ws - 1) / ws;
    size_t cap = std::max<size_t>((size_t(1) << 30) / ws, 1);
    return std::max<size_t>(1, std::min(want, cap));
}

struct Arena {
    const Case *owner = nullptr;
    std::vector<Set> sets;
    std::map<std::string, std::unique_ptr<PeerRunner>> runners;
    std::map<std::string, std::string> runner_errors;
    std::map<std::string, std::string> runner_checks;

    void release()
    {
        runners.clear();
        runner_errors.clear();
        runner_checks.clear();
        for (Set &s : sets)
            for (float *p : s)
                std::free(p);
        sets.clear();
        owner = nullptr;
    }

    std::vector<Set> &acquire(const Case &k, unsigned seed)
    {
        if (owner == &k)
            return sets;
        release();
        std::mt19937 rng(seed);
        size_t count = set_count(k);
        for (size_t i = 0; i < count; i++) {
            Set s;
            for (size_t f : k.buffer_floats)
                s.push_back(alloc_floats(f));
            k.init(s, rng);
            sets.push_back(s);
        }
        owner = &k;
        return sets;
    }
};
Arena g_arena;

std::string human_bytes(double b)
{
    char buf[32];
    if (b >= 1 << 20)
        std::snprintf(buf, sizeof buf, "%.1fMiB", b / (1 << 20));
    else
        std::snprintf(buf, sizeof buf, "%.1fKiB", b / 1024);
    return buf;
}

void set_counters(benchmark::State &state, const Case &k, size_t nsets,
                  const std::string &extra)
{
    using benchmark::Counter;
    double iters = static_cast<double>(state.iterations());
    state.SetItemsProcessed(static_cast<int64_t>(iters * k.elements));
    state.SetBytesProcessed(
        static_cast<int64_t>(iters * (k.bytes_read + k.bytes_written)));
    // Seconds per element: the console prints it as "per_element=1.23ns".
    state.counters["per_element"] =
        Counter(static_cast<double>(k.elements),
                Counter::kIsIterationInvariantRate | Counter::kInvert);
    state.counters["elements"] = Counter(static_cast<double>(k.elements));
    state.counters["ws_bytes"] = Counter(static_cast<double>(set_bytes(k)));
    state.counters["sets"] = Counter(static_cast<double>(nsets));
    if (in_dram(k) && g_machine.copy_nt_gbps > 0)
        state.counters["dram_floor_frac"] =
            Counter(dram_floor_seconds(k), Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(residency(k)) +
                   " ws=" + human_bytes(set_bytes(k)) +
                   " sets=" + std::to_string(nsets) + extra);
}

// ---------------------------------------------------------------------
// The three kinds of columns.

// Whether the CPU and OS execute isa, from the kernel's flags (Linux hides
// AVX and AVX-512 flags whose state the OS does not save) or, in the SIMDe
// build, from the library's own view.
std::string cpu_flag_line();
bool cpu_executes(simdnn_isa isa)
{
    static const std::string flags = cpu_flag_line();
    auto has = [](const char *f) {
        return flags.find(std::string(" ") + f + " ") != std::string::npos;
    };
    switch (isa) {
    case SIMDNN_ISA_SCALAR:
        return true;
    case SIMDNN_ISA_AVX2:
        return has("avx2") && has("fma");
    case SIMDNN_ISA_AVX512:
#ifdef SIMDNN_BENCH_AVX512_VIA_SIMDE
        return has("avx2") && has("fma");
#else
        return has("avx512f");
#endif
    case SIMDNN_ISA_NEON:
#if defined(__aarch64__)
        return true;
#else
        return false;
#endif
    default:
        return false;
    }
}

void bench_isa(benchmark::State &state, const Case *k, unsigned seed,
               simdnn_isa isa)
{
    const char *name = simdnn_isa_name(isa);
    const char *family = simdnn_family_name(k->family);
    if (isa > g_machine.env_cap) {
        std::string msg = std::string("skipped: ") + name +
                          " is above SIMDNN_MAX_ISA=" +
                          simdnn_isa_name(g_machine.env_cap);
        state.SkipWithError(msg.c_str());
        return;
    }
    simdnn_set_max_isa(isa);
    simdnn_isa used = simdnn_family_isa(k->family);
    if (used != isa) {
        std::string why = cpu_executes(isa)
                              ? std::string("this build has no ") + family +
                                    " kernel for " + name
                              : std::string("this CPU/OS cannot execute ") +
                                    name;
        std::string msg = std::string("skipped: ") + family + " would run " +
                          simdnn_isa_name(used) + ", not " + name + ": " +
                          why;
        simdnn_set_max_isa(g_machine.env_cap);
        state.SkipWithError(msg.c_str());
        return;
    }
    std::vector<Set> &sets = g_arena.acquire(*k, seed);
    size_t i = 0, nsets = sets.size();
    for (auto _ : state) {
        simdnn_status status = k->run(sets[i]);
        if (status != SIMDNN_SUCCESS) {
            std::string msg = std::string("failed: status ") +
                              simdnn_status_string(status);
            state.SkipWithError(msg.c_str());
            break;
        }
        benchmark::ClobberMemory();
        if (++i == nsets)
            i = 0;
    }
    simdnn_set_max_isa(g_machine.env_cap);
    set_counters(state, *k, nsets, std::string(" isa=") + name);
}

// Checks once per case that the peer computes what simdnn computes (so
// that its column times the same work): runs both on set 0 and compares
// the main output, max |peer - simdnn| over max |simdnn|.
std::string agreement(const Case &k, Set &set, PeerRunner &runner)
{
    size_t count = k.floor_n;
    float *out = set[k.floor_out];
    std::string why;
    if (!runner.run(0, &why))
        return "peer failed: " + why;
    std::vector<float> peer_out(out, out + count);
    if (k.run(set) != SIMDNN_SUCCESS)
        return "simdnn failed";
    double diff = 0, scale = 0;
    for (size_t i = 0; i < count; i++) {
        diff = std::max(diff, std::fabs(double(peer_out[i]) - out[i]));
        scale = std::max(scale, std::fabs(double(out[i])));
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, " agrees_with_simdnn=%.1e",
                  scale > 0 ? diff / scale : diff);
    return buf;
}

void bench_peer(benchmark::State &state, const Case *k, unsigned seed,
                const Peer *peer)
{
    std::vector<Set> &sets = g_arena.acquire(*k, seed);
    auto it = g_arena.runners.find(peer->name);
    if (it == g_arena.runners.end() &&
        !g_arena.runner_errors.count(peer->name)) {
        std::string why;
        auto runner = peer->make(*k, sets, &why);
        if (runner) {
            g_arena.runner_checks[peer->name] =
                agreement(*k, sets[0], *runner);
            it = g_arena.runners.emplace(peer->name, std::move(runner)).first;
        } else
            g_arena.runner_errors[peer->name] = why;
    }
    if (it == g_arena.runners.end()) {
        std::string msg = "skipped: " + peer->name + " cannot run this: " +
                          g_arena.runner_errors[peer->name];
        state.SkipWithError(msg.c_str());
        return;
    }
    PeerRunner &runner = *it->second;
    size_t i = 0, nsets = sets.size();
    for (auto _ : state) {
        std::string why;
        if (!runner.run(i, &why)) {
            std::string msg = "failed: " + peer->name + ": " + why;
            state.SkipWithError(msg.c_str());
            break;
        }
        benchmark::ClobberMemory();
        if (++i == nsets)
            i = 0;
    }
    set_counters(state, *k, nsets, g_arena.runner_checks[peer->name]);
}

void bench_floor(benchmark::State &state, const Case *k, unsigned seed,
                 int nt)
{
    std::vector<Set> &sets = g_arena.acquire(*k, seed);
    size_t i = 0, nsets = sets.size();
    for (auto _ : state) {
        Set &s = sets[i];
        const float *a = k->floor_a >= 0 ? s[k->floor_a] : nullptr;
        const float *b = k->floor_b >= 0 ? s[k->floor_b] : nullptr;
        float *out = k->floor_out >= 0 ? s[k->floor_out] : nullptr;
        float keep = floor_run(k->floor, a, b, out, k->floor_n, nt);
        benchmark::DoNotOptimize(keep);
        benchmark::ClobberMemory();
        if (++i == nsets)
            i = 0;
    }
    set_counters(state, *k, nsets, nt ? " streaming stores" : "");
}

// ---------------------------------------------------------------------
// The machine section of the report, as Google Benchmark context.

// The brand string plus, on x86, family/model/stepping (VMs often report
// a bare "AMD EPYC"; family 25 model 1 is Zen 3 Milan).
std::string cpu_model()
{
    std::ifstream f("/proc/cpuinfo");
    std::string line, name, family, model, stepping;
    auto value = [&line]() {
        size_t colon = line.find(':');
        return colon == std::string::npos ? std::string()
                                          : line.substr(colon + 2);
    };
    while (std::getline(f, line)) {
        if (line.empty())
            break;  // the first processor is enough
        if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0 ||
            line.rfind("Hardware", 0) == 0)
            name = value();
        else if (line.rfind("cpu family", 0) == 0)
            family = value();
        else if (line.rfind("model\t", 0) == 0)
            model = value();
        else if (line.rfind("stepping", 0) == 0)
            stepping = value();
    }
    if (name.empty())
        name = "unknown";
    if (!family.empty())
        name += " (family " + family + ", model " + model + ", stepping " +
                stepping + ")";
    return name;
}

// The flags line of /proc/cpuinfo (" flag flag ... "), "" if unknown.
std::string cpu_flag_line()
{
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0)
            return " " + line.substr(line.find(':') + 1) + " ";
    return "";
}

// The SIMD-relevant flags the kernel reports (Linux hides the AVX flags
// when the OS does not enable their state, so these mean "usable").
std::string cpu_flags()
{
    static const char *wanted[] = {
        "sse4_2",   "avx",      "avx2",      "fma",       "f16c",
        "avx512f",  "avx512dq", "avx512bw",  "avx512vl",  "avx512_bf16",
        "avx512_fp16", "amx_tile", "asimd",  "asimdhp",   "sve",
        "sve2",     "fphp",     nullptr};
    std::string flags = cpu_flag_line(), out;
#if defined(__aarch64__)
    // Under qemu-user, /proc/cpuinfo is the x86 host's.
    if (flags.find(" sse2 ") != std::string::npos)
        return "unknown (/proc/cpuinfo is an x86 host's: emulated "
               "aarch64, timings mean nothing)";
#endif
    for (int i = 0; wanted[i]; i++)
        if (flags.find(std::string(" ") + wanted[i] + " ") !=
            std::string::npos)
            out += (out.empty() ? "" : " ") + std::string(wanted[i]);
    return out.empty() ? "none found" : out;
}

std::string fmt(double v, const char *format)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::vector<simdnn_isa> arch_isas()
{
#if defined(__x86_64__) || defined(_M_X64)
    return {SIMDNN_ISA_SCALAR, SIMDNN_ISA_AVX2, SIMDNN_ISA_AVX512};
#elif defined(__aarch64__)
    return {SIMDNN_ISA_SCALAR, SIMDNN_ISA_NEON};
#else
    return {SIMDNN_ISA_SCALAR};
#endif
}

void add_context(const std::vector<Peer> &peers, bool full)
{
    using benchmark::AddCustomContext;
    AddCustomContext("simdnn_version", simdnn_version_string());
    AddCustomContext("cpu_model", cpu_model());
    AddCustomContext("cpu_flags", cpu_flags());
    std::string governor =
        read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    AddCustomContext("cpu_governor", governor.empty() ? "unknown" : governor);
    AddCustomContext("cache_l1d", human_bytes(g_machine.l1d));
    AddCustomContext("cache_l2", human_bytes(g_machine.l2));
    AddCustomContext("cache_l3", human_bytes(g_machine.l3));
    std::string supported, family_isas;
    for (simdnn_isa isa : arch_isas())
        supported += std::string(supported.empty() ? "" : " ") +
                     simdnn_isa_name(isa) + "=" +
                     (simdnn_isa_supported(isa) ? "yes" : "no");
    AddCustomContext("simdnn_isa_supported", supported);
    for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++)
        family_isas += std::string(family_isas.empty() ? "" : " ") +
                       simdnn_family_name(simdnn_family(f)) + "=" +
                       simdnn_isa_name(simdnn_family_isa(simdnn_family(f)));
    AddCustomContext("simdnn_family_isa", family_isas);
    const char *env = std::getenv("SIMDNN_MAX_ISA");
    AddCustomContext("simdnn_max_isa_env", env ? env : "(unset)");
    AddCustomContext("simdnn_max_isa", simdnn_isa_name(g_machine.env_cap));
#ifdef SIMDNN_BENCH_AVX512_VIA_SIMDE
    AddCustomContext("avx512_via_simde", "yes (emulated: times mean "
                                         "nothing)");
#else
    AddCustomContext("avx512_via_simde", "no");
#endif
#ifdef SIMDNN_BENCH_VARIANTS
    AddCustomContext("simdnn_kernels_built", SIMDNN_BENCH_VARIANTS);
#endif
#ifdef SIMDNN_BENCH_C_COMPILER
    AddCustomContext("c_compiler", SIMDNN_BENCH_C_COMPILER);
    AddCustomContext("cxx_compiler", SIMDNN_BENCH_CXX_COMPILER);
    AddCustomContext("build_type", SIMDNN_BENCH_BUILD_TYPE);
    AddCustomContext("c_flags", SIMDNN_BENCH_C_FLAGS);
    AddCustomContext("isa_flags", SIMDNN_BENCH_ISA_FLAGS);
    AddCustomContext("sleef_version", SIMDNN_BENCH_SLEEF_VERSION);
    AddCustomContext("benchmark_version", SIMDNN_BENCH_BENCHMARK_VERSION);
#endif
    AddCustomContext("floor_impl", floor_impl_name());
    AddCustomContext("probe_read_GBps", fmt(g_machine.read_gbps, "%.2f"));
    AddCustomContext("probe_write_nt_GBps",
                     fmt(g_machine.write_nt_gbps, "%.2f"));
    AddCustomContext("probe_copy_nt_GBps",
                     fmt(g_machine.copy_nt_gbps, "%.2f"));
    AddCustomContext("probe_write_GBps", fmt(g_machine.write_gbps, "%.2f"));
    AddCustomContext("probe_copy_GBps", fmt(g_machine.copy_gbps, "%.2f"));
    AddCustomContext("probe_rmw_GBps", fmt(g_machine.rmw_gbps, "%.2f"));
    AddCustomContext("bench_mode", full ? "full" : "default");
    std::string names;
    for (const Peer &p : peers) {
        names += (names.empty() ? "" : " ") + p.name;
        for (const auto &kv : p.context)
            AddCustomContext(kv.first, kv.second);
    }
    AddCustomContext("peers", names.empty() ? "none" : names);
    std::string families;
#ifdef SIMDNN_BENCH_HAVE_SOFTMAX
    families += "softmax ";
#endif
#ifdef SIMDNN_BENCH_HAVE_POSENC
    families += "posenc ";
#endif
#ifdef SIMDNN_BENCH_HAVE_BATCHNORM
    families += "batchnorm ";
#endif
    AddCustomContext("families_benchmarked",
                     families.empty() ? "none" : families);
}

int run_compare(int argc, char **argv)
{
    std::vector<char *> args;
    std::string python = "python3", script = SIMDNN_BENCH_REPORT_SCRIPT;
    args.push_back(&python[0]);
    args.push_back(&script[0]);
    for (int i = 1; i < argc; i++)
        args.push_back(argv[i]);
    args.push_back(nullptr);
    execvp("python3", args.data());
    std::perror("simdnn-bench: cannot run python3 " SIMDNN_BENCH_REPORT_SCRIPT);
    return 2;
}

}  // namespace
}  // namespace sbench

int main(int argc, char **argv)
{
    using namespace sbench;
    if (argc >= 2 && std::strcmp(argv[1], "--compare") == 0)
        return run_compare(argc, argv);

    bool full = false, peers_on = true;
    std::vector<char *> rest = {argv[0]};
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--full") == 0)
            full = true;
        else if (std::strcmp(argv[i], "--no-peers") == 0)
            peers_on = false;
        else
            rest.push_back(argv[i]);
    }
    int gargc = static_cast<int>(rest.size());
    rest.push_back(nullptr);
    benchmark::Initialize(&gargc, rest.data());
    if (benchmark::ReportUnrecognizedArguments(gargc, rest.data()))
        return 1;

    g_machine.env_cap = simdnn_max_isa();
    detect_caches(g_machine);
    std::fprintf(stderr, "simdnn-bench: probing memory bandwidth...\n");
    probe_bandwidth(g_machine);
    std::fprintf(stderr,
                 "simdnn-bench: read %.1f GB/s, write (streaming) %.1f GB/s, "
                 "copy (streaming) %.1f GB/s\n",
                 g_machine.read_gbps, g_machine.write_nt_gbps,
                 g_machine.copy_nt_gbps);

    std::vector<Case> cases;
#ifdef SIMDNN_BENCH_HAVE_SOFTMAX
    add_softmax_cases(cases, full);
#endif
#ifdef SIMDNN_BENCH_HAVE_POSENC
    add_posenc_cases(cases, full);
#endif
#ifdef SIMDNN_BENCH_HAVE_BATCHNORM
    add_batchnorm_cases(cases, full);
#endif
    std::vector<Peer> peers;
    if (peers_on) {
#ifdef SIMDNN_BENCH_HAVE_ONEDNN
        add_onednn_peer(peers);
#endif
#ifdef SIMDNN_BENCH_HAVE_XNNPACK
        add_xnnpack_peer(peers);
#endif
    }
    add_context(peers, full);
    if (cases.empty())
        std::fprintf(stderr, "simdnn-bench: no kernel family is built yet "
                             "(no kernels/<family>/api.c): only the "
                             "bandwidth probe ran\n");

    for (size_t ci = 0; ci < cases.size(); ci++) {
        const Case *k = &cases[ci];
        unsigned seed = 42 + static_cast<unsigned>(ci);
        std::string base = std::string(simdnn_family_name(k->family)) + "/" +
                           k->op_name + "/" + k->shape + "/";
        auto reg = [&](const std::string &column, auto fn) {
            // CPU time (Google Benchmark's default) rather than wall time:
            // on a shared machine it leaves out the time the thread was
            // descheduled; both are in the JSON, and the report warns when
            // they differ.
            benchmark::RegisterBenchmark((base + column).c_str(), fn)
                ->Unit(benchmark::kMicrosecond);
        };
        for (simdnn_isa isa : arch_isas())
            reg(simdnn_isa_name(isa), [k, seed, isa](benchmark::State &s) {
                bench_isa(s, k, seed, isa);
            });
        for (const Peer &p : peers) {
            if (!p.supports(*k))
                continue;
            const Peer *pp = &p;
            reg(p.name, [k, seed, pp](benchmark::State &s) {
                bench_peer(s, k, seed, pp);
            });
        }
        reg("floor-reg", [k, seed](benchmark::State &s) {
            bench_floor(s, k, seed, 0);
        });
        // Streaming stores only pay once data leave L1; from L2 on, both
        // floors run and the faster one is the floor (the issue targets
        // name "the non-temporal copy of the same tensor").
        if (floor_nt_available() && std::strcmp(residency(*k), "L1") != 0)
            reg("floor-nt", [k, seed](benchmark::State &s) {
                bench_floor(s, k, seed, 1);
            });
    }
    benchmark::RunSpecifiedBenchmarks();
    g_arena.release();
    benchmark::Shutdown();
    return 0;
}

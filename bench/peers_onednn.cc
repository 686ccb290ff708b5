// oneDNN (Debian's libdnnl-dev) as a peer column: softmax and log-softmax
// forward over rows (axis 1 of a rows x n tensor), the general-axis
// softmax (axis 1 of outer x axis x inner), batch-norm inference
// (use_global_stats) and training forward (statistics computed), both with
// scale and shift, in NCHW and NHWC. One thread (omp_set_num_threads(1)),
// like simdnn. Each case's primitive is created once and executed on every
// rotation set through memory objects wrapping the harness's buffers.
//
// Compiled only when CMake finds dnnl; never a dependency of the library.
#include <omp.h>

#include <dnnl.hpp>

#include "bench.h"

namespace sbench {
namespace {

using dnnl::memory;

class OnednnRunner : public PeerRunner {
  public:
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
    dnnl::primitive prim;
    std::vector<std::unordered_map<int, memory>> args;

    bool run(size_t index, std::string *why) override
    {
        try {
            prim.execute(stream, args[index]);
            stream.wait();
        } catch (const dnnl::error &e) {
            *why = e.what();
            return false;
        }
        return true;
    }
};

std::unique_ptr<PeerRunner> make_softmax(const Case &k,
                                         std::vector<Set> &sets)
{
    auto r = std::make_unique<OnednnRunner>();
    // Rows are a rows x n tensor (softmax over axis 1); the general-axis
    // form is outer x axis x inner, again over axis 1.
    memory::desc md = k.op == Op::kSoftmaxAxis
                          ? memory::desc({memory::dim(k.rows),
                                          memory::dim(k.n),
                                          memory::dim(k.inner)},
                                         memory::data_type::f32,
                                         memory::format_tag::abc)
                          : memory::desc({memory::dim(k.rows),
                                          memory::dim(k.n)},
                                         memory::data_type::f32,
                                         memory::format_tag::ab);
    if (k.op != Op::kLogSoftmax) {
        dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md,
                                      1);
        r->prim = dnnl::softmax_forward(
            dnnl::softmax_forward::primitive_desc(d, r->engine));
    } else {
        dnnl::logsoftmax_forward::desc d(dnnl::prop_kind::forward_inference,
                                         md, 1);
        r->prim = dnnl::logsoftmax_forward(
            dnnl::logsoftmax_forward::primitive_desc(d, r->engine));
    }
    for (Set &s : sets)
        r->args.push_back({{DNNL_ARG_SRC, memory(md, r->engine, s[0])},
                           {DNNL_ARG_DST, memory(md, r->engine, s[1])}});
    return r;
}

std::unique_ptr<PeerRunner> make_batchnorm(const Case &k,
                                           std::vector<Set> &sets)
{
    auto r = std::make_unique<OnednnRunner>();
    // spatial is h*w; oneDNN wants h and w, and only their product matters.
    memory::dims dims = {memory::dim(k.n), memory::dim(k.c),
                         memory::dim(k.spatial), 1};
    memory::desc md(dims, memory::data_type::f32,
                    k.layout == SIMDNN_NCHW ? memory::format_tag::nchw
                                            : memory::format_tag::nhwc);
    memory::desc cmd({memory::dim(k.c)}, memory::data_type::f32,
                     memory::format_tag::a);
    const float eps = 1e-5f;
    auto flags = dnnl::normalization_flags::use_scale |
                 dnnl::normalization_flags::use_shift;
    bool training = k.op == Op::kBnTraining;
    if (!training)
        flags = flags | dnnl::normalization_flags::use_global_stats;
    dnnl::batch_normalization_forward::desc d(
        training ? dnnl::prop_kind::forward_training
                 : dnnl::prop_kind::forward_inference,
        md, eps, flags);
    dnnl::batch_normalization_forward::primitive_desc pd(d, r->engine);
    r->prim = dnnl::batch_normalization_forward(pd);
    // Set layouts of bench_batchnorm.cc: inference [2] gamma [3] beta
    // [4] mean [5] var; training [2] gamma [3] beta [4] batch_mean
    // [5] batch_var. oneDNN's training forward does not update running
    // statistics (the framework does), a small saving simdnn does not take.
    for (Set &s : sets)
        r->args.push_back({{DNNL_ARG_SRC, memory(md, r->engine, s[0])},
                           {DNNL_ARG_DST, memory(md, r->engine, s[1])},
                           {DNNL_ARG_SCALE, memory(cmd, r->engine, s[2])},
                           {DNNL_ARG_SHIFT, memory(cmd, r->engine, s[3])},
                           {DNNL_ARG_MEAN, memory(cmd, r->engine, s[4])},
                           {DNNL_ARG_VARIANCE, memory(cmd, r->engine, s[5])}});
    return r;
}

const char *isa_name(dnnl::cpu_isa isa)
{
    switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

}  // namespace

void add_onednn_peer(std::vector<Peer> &peers)
{
    omp_set_num_threads(1);
    Peer p;
    p.name = "onednn";
    p.supports = [](const Case &k) {
        return k.op == Op::kSoftmax || k.op == Op::kLogSoftmax ||
               k.op == Op::kSoftmaxAxis || k.op == Op::kBnInference ||
               k.op == Op::kBnTraining;
    };
    p.make = [](const Case &k, std::vector<Set> &sets,
                std::string *why) -> std::unique_ptr<PeerRunner> {
        try {
            if (k.op == Op::kSoftmax || k.op == Op::kLogSoftmax ||
                k.op == Op::kSoftmaxAxis)
                return make_softmax(k, sets);
            return make_batchnorm(k, sets);
        } catch (const dnnl::error &e) {
            *why = e.what();
            return nullptr;
        }
    };
    const dnnl_version_t *v = dnnl_version();
    p.context.push_back(
        {"onednn_version", std::to_string(v->major) + "." +
                               std::to_string(v->minor) + "." +
                               std::to_string(v->patch) + " (" + v->hash +
                               ", cpu runtime " +
                               (v->cpu_runtime == DNNL_RUNTIME_OMP
                                    ? std::string("OpenMP")
                                    : std::to_string(v->cpu_runtime)) +
                               ")"});
    p.context.push_back(
        {"onednn_isa", isa_name(dnnl::get_effective_cpu_isa())});
    p.context.push_back({"onednn_threads", "1 (omp_set_num_threads)"});
    peers.push_back(p);
}

}  // namespace sbench

// XNNPACK (Debian's libxnnpack-dev, a 2022 snapshot) as a peer column:
// softmax_nc_f32 over rows (XNNPACK has no log-softmax and no batch norm
// operator). No thread pool (NULL): one thread, like simdnn. The operator
// is created once per case; a cache-resident case (one set) is set up once
// and only run in the loop, as an engine does; a rotating case calls
// setup before each run since the pointers change (its cost is negligible
// at those sizes).
//
// Compiled only when CMake finds XNNPACK; never a dependency.
#include <xnnpack.h>

#include "bench.h"

namespace sbench {
namespace {

class XnnpackRunner : public PeerRunner {
  public:
    xnn_operator_t op = nullptr;
    std::vector<Set> *sets = nullptr;
    size_t rows = 0;

    ~XnnpackRunner() override
    {
        if (op)
            xnn_delete_operator(op);
    }

    bool run(size_t index, std::string *why) override
    {
        if (sets->size() > 1 && !setup(index, why))
            return false;
        if (xnn_run_operator(op, nullptr) != xnn_status_success) {
            *why = "xnn_run_operator failed";
            return false;
        }
        return true;
    }

    bool setup(size_t index, std::string *why)
    {
        Set &s = (*sets)[index];
        if (xnn_setup_softmax_nc_f32(op, rows, s[0], s[1], nullptr) !=
            xnn_status_success) {
            *why = "xnn_setup_softmax_nc_f32 failed";
            return false;
        }
        return true;
    }
};

}  // namespace

void add_xnnpack_peer(std::vector<Peer> &peers)
{
    Peer p;
    p.name = "xnnpack";
    bool ok = xnn_initialize(nullptr) == xnn_status_success;
    p.supports = [](const Case &k) { return k.op == Op::kSoftmax; };
    p.make = [ok](const Case &k, std::vector<Set> &sets,
                  std::string *why) -> std::unique_ptr<PeerRunner> {
        if (!ok) {
            *why = "xnn_initialize failed (CPU not supported?)";
            return nullptr;
        }
        auto r = std::make_unique<XnnpackRunner>();
        r->sets = &sets;
        r->rows = k.rows;
        if (xnn_create_softmax_nc_f32(k.n, k.n, k.n, 0, &r->op) !=
            xnn_status_success) {
            *why = "xnn_create_softmax_nc_f32 failed";
            return nullptr;
        }
        if (!r->setup(0, why))
            return nullptr;
        return r;
    };
    p.context.push_back({"xnnpack_version", SIMDNN_BENCH_XNNPACK_VERSION});
    p.context.push_back({"xnnpack_threads", "1 (no pthreadpool)"});
    peers.push_back(p);
}

}  // namespace sbench

// Exact OT by LEMON's network simplex (the solver POT's emd derives from),
// behind a C interface: nothing C++ crosses solvers/network_simplex.h, and no
// exception leaves this file.
#include "network_simplex.h"

#include <lemon/bits/graph_extender.h>
#include <lemon/network_simplex.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

extern "C" {
#include "../ad/ad.h"
}

namespace {

// The complete bipartite digraph from n sources to m sinks, with nothing
// stored: node ids are 0..n−1 for the sources, n..n+m−1 for the sinks, and
// arc i + j·n goes from source i to sink j, so arcs are numbered like the
// column-major cost matrix and its costs are read in place.  A stored graph
// (lemon::SmartDigraph) would add 24 bytes per arc to the simplex's own 53.
// The members are those LEMON's DigraphExtender builds iterators and maps on.
class BipartiteBase {
  public:
    typedef BipartiteBase Digraph;
    typedef lemon::True NodeNumTag;
    typedef lemon::True ArcNumTag;

    class Node {
        friend class BipartiteBase;

      protected:
        int id_;
        explicit Node(int id) : id_(id) {}

      public:
        Node() {}
        Node(lemon::Invalid) : id_(-1) {}
        bool operator==(const Node other) const { return id_ == other.id_; }
        bool operator!=(const Node other) const { return id_ != other.id_; }
        bool operator<(const Node other) const { return id_ < other.id_; }
    };

    class Arc {
        friend class BipartiteBase;

      protected:
        int id_;
        explicit Arc(int id) : id_(id) {}

      public:
        Arc() {}
        Arc(lemon::Invalid) : id_(-1) {}
        bool operator==(const Arc other) const { return id_ == other.id_; }
        bool operator!=(const Arc other) const { return id_ != other.id_; }
        bool operator<(const Arc other) const { return id_ < other.id_; }
    };

    BipartiteBase() : n_(0), m_(0) {}
    void resize(int n, int m) { n_ = n, m_ = m; }

    int nodeNum() const { return n_ + m_; }
    int arcNum() const { return n_ * m_; }
    int maxNodeId() const { return n_ + m_ - 1; }
    int maxArcId() const { return n_ * m_ - 1; }

    Node source(Arc a) const { return Node(a.id_ % n_); }
    Node target(Arc a) const { return Node(n_ + a.id_ / n_); }

    static int id(Node v) { return v.id_; }
    static int id(Arc a) { return a.id_; }
    static Node nodeFromId(int id) { return Node(id); }
    static Arc arcFromId(int id) { return Arc(id); }
    bool valid(Node v) const { return v.id_ >= 0 && v.id_ < nodeNum(); }
    bool valid(Arc a) const { return a.id_ >= 0 && a.id_ < arcNum(); }

    void first(Node &v) const { v.id_ = maxNodeId(); }
    static void next(Node &v) { --v.id_; }
    void first(Arc &a) const { a.id_ = maxArcId(); }
    static void next(Arc &a) { --a.id_; }

    // Out of source i: i + j·n for j = m−1 … 0.  Into sink j: i + j·n for
    // i = n−1 … 0.
    void firstOut(Arc &a, const Node &v) const { a.id_ = v.id_ < n_ ? v.id_ + (m_ - 1) * n_ : -1; }
    void nextOut(Arc &a) const { a.id_ = a.id_ >= n_ ? a.id_ - n_ : -1; }
    void firstIn(Arc &a, const Node &v) const
    {
        a.id_ = v.id_ >= n_ ? (v.id_ - n_) * n_ + n_ - 1 : -1;
    }
    void nextIn(Arc &a) const { a.id_ = a.id_ % n_ ? a.id_ - 1 : -1; }

  private:
    int n_, m_;
};

// A value per node or per arc in a vector sized once.  LEMON's own maps
// register with the graph's change notifier, inserting into a list under a
// mutex: an allocation failure there throws with the mutex held, and the
// destructor of a map registered before waits on it forever.  Our graph never
// changes, so its maps need no notifier, and the simplex's maps are these.
template <typename Item, typename V> class FixedMap {
  public:
    typedef Item Key;
    typedef V Value;
    typedef typename std::vector<V>::reference Reference;
    typedef typename std::vector<V>::const_reference ConstReference;
    typedef lemon::True ReferenceMapTag;

    template <typename Graph>
    explicit FixedMap(const Graph &graph, const V &value = V())
        : values_(static_cast<size_t>(graph.maxId(Item()) + 1), value)
    {
    }
    Reference operator[](const Key &key) { return values_[static_cast<size_t>(id(key))]; }
    ConstReference operator[](const Key &key) const
    {
        return values_[static_cast<size_t>(id(key))];
    }
    void set(const Key &key, const V &value) { (*this)[key] = value; }

  private:
    static int id(const Key &key) { return BipartiteBase::id(key); }
    std::vector<V> values_;
};

class Bipartite : public lemon::DigraphExtender<BipartiteBase> {
  public:
    Bipartite(int n, int m) { resize(n, m); }
    template <typename V> class NodeMap : public FixedMap<Node, V> {
      public:
        explicit NodeMap(const Bipartite &graph, const V &value = V())
            : FixedMap<Node, V>(graph, value)
        {
        }
    };
    template <typename V> class ArcMap : public FixedMap<Arc, V> {
      public:
        explicit ArcMap(const Bipartite &graph, const V &value = V())
            : FixedMap<Arc, V>(graph, value)
        {
        }
    };
};

// The cost matrix as a LEMON map over the arcs, read where it lies.
struct CostMap {
    typedef Bipartite::Arc Key;
    typedef double Value;
    const double *cost;
    double operator[](const Key &arc) const { return cost[Bipartite::id(arc)]; }
};

// The supplies a_i of the sources and −b_j of the sinks, read where they lie.
struct SupplyMap {
    typedef Bipartite::Node Key;
    typedef double Value;
    const double *a, *b;
    int n;
    double operator[](const Key &node) const
    {
        const int id = Bipartite::id(node);
        return id < n ? a[id] : -b[id - n];
    }
};

typedef lemon::NetworkSimplex<Bipartite, double, double> Simplex;

struct Entry {
    size_t row, col;
    double mass;
    bool operator<(const Entry &other) const
    {
        return row != other.row ? row < other.row : col < other.col;
    }
};

long solve(size_t n, size_t m, const double *a, const double *b, const double *cost,
           size_t *row, size_t *col, double *mass, double *f, double *g)
{
    Bipartite graph(static_cast<int>(n), static_cast<int>(m));
    Simplex simplex(graph);
    CostMap costs = {cost};
    SupplyMap supply = {a, b, static_cast<int>(n)};
    simplex.costMap(costs).supplyMap(supply);
    if (simplex.run() != Simplex::OPTIMAL)
        return OTAD_ENOCONV;

    // LEMON's optimality: C_ij + π(source i) − π(sink j) ≥ 0, with equality
    // on the tree, which carries all the flow.  Asking the simplex for the
    // flow of every arc would read its arrays in their mixed order, a cache
    // miss per arc; the reduced costs stream through C instead, and only the
    // arcs where they vanish, up to the rounding of the potentials, are asked.
    for (size_t i = 0; i < n; i++)
        f[i] = -simplex.potential(Bipartite::nodeFromId(static_cast<int>(i)));
    for (size_t j = 0; j < m; j++)
        g[j] = simplex.potential(Bipartite::nodeFromId(static_cast<int>(n + j)));
    double largest = 0;
    for (size_t i = 0; i < n; i++)
        largest = std::max(largest, std::fabs(f[i]));
    for (size_t j = 0; j < m; j++)
        largest = std::max(largest, std::fabs(g[j]));
    const double tight = 1e-9 * largest;
    std::vector<Entry> plan;
    plan.reserve(n + m);
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++) {
            const size_t k = i + j * n;
            if (cost[k] - f[i] - g[j] > tight)
                continue;
            double flow = simplex.flow(Bipartite::arcFromId(static_cast<int>(k)));
            if (flow > 0) {
                if (plan.size() == n + m)
                    return OTAD_ENOCONV; // not a basic solution
                plan.push_back(Entry{i, j, flow});
            }
        }
    std::sort(plan.begin(), plan.end());
    for (size_t k = 0; k < plan.size(); k++) {
        row[k] = plan[k].row;
        col[k] = plan[k].col;
        mass[k] = plan[k].mass;
    }
    return static_cast<long>(plan.size());
}

} // namespace

extern "C" long otadS_network_simplex(size_t n, size_t m, const double *a, const double *b,
                                      const double *cost, size_t *row, size_t *col,
                                      double *mass, double *f, double *g)
{
    try {
        return solve(n, m, a, b, cost, row, col, mass, f, g);
    } catch (const std::bad_alloc &) {
        return OTAD_ENOMEM;
    } catch (...) {
        return OTAD_ENOCONV;
    }
}

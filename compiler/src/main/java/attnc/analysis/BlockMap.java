package attnc.analysis;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Pattern;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a data-dependent mask needs to know about its inputs, built once per launch in
 * O(elements + tiles·log tiles), never O(N²): per-tile minima and maxima of every tensor the
 * visibility loads ({@link RangeTable}: document ids give FULL when both tiles hold one equal id,
 * EMPTY when their id ranges do not meet; lengths give exact bounds), and the sorted rows of
 * every tensor it tests with {@code in} ({@link MemberSets}: selected KV blocks), and the few
 * distinct values per tile of int tensors whose loads are compared for equality
 * ({@link ValueSets}: documents with ids in any order). It covers every
 * b and h, so all heads share it. Loads are bounded as the kernels read them: indices clamped
 * into the tensor.
 *
 * <p>Document ids need not be sorted: a tile holding more than {@value ValueSets#LIMIT} distinct
 * ids falls back to its id range, which keeps tiles PARTIAL (sound, looser).
 */
public final class BlockMap implements DataBounds {
    private final Map<String, RangeTable> ranges;
    private final Map<String, MemberSets> members;
    private final Map<String, ValueSets> valueSets;

    private BlockMap(Map<String, RangeTable> ranges, Map<String, MemberSets> members, Map<String, ValueSets> valueSets) {
        this.ranges = ranges;
        this.members = members;
        this.valueSets = valueSets;
    }

    /** Summarises the inputs that {@code pattern.visibility()} reads, for tiles of {@code grid}. */
    public static BlockMap build(Pattern pattern, TileGrid grid, Map<String, Tensor> inputs) {
        Map<String, RangeTable> ranges = new HashMap<>();
        Map<String, MemberSets> members = new HashMap<>();
        Map<String, ValueSets> valueSets = new HashMap<>();
        for (Expr e : nodes(pattern.visibility())) {
            if (e instanceof Expr.Load load && !ranges.containsKey(load.input())) {
                ranges.put(load.input(), new RangeTable(require(inputs, load.input()), grid.tileQ(), grid.tileKv(), grid.queryOffset()));
            } else if (e instanceof Expr.Member m && !members.containsKey(m.input())) {
                members.put(m.input(), new MemberSets(require(inputs, m.input())));
            }
            if (IntervalAnalysis.comparedLoads(e) instanceof Expr.Load[] loads) {
                for (Expr.Load load : loads) {
                    valueSets.computeIfAbsent(load.input(), name -> new ValueSets(require(inputs, name),
                            BlockGrid.kv(grid.tileKv()), BlockGrid.q(grid.tileQ(), grid.queryOffset())));
                }
            }
        }
        return new BlockMap(ranges, members, valueSets);
    }

    @Override
    public IntBound intLoad(String input, IntBound[] indices) {
        RangeTable table = ranges.get(input);
        double[] b = table == null ? null : table.bounds(indices);
        if (b == null || b[0] > b[1]) return IntBound.TOP;
        return IntBound.range((long) b[0], (long) b[1]);
    }

    @Override
    public FloatBound floatLoad(String input, IntBound[] indices) {
        RangeTable table = ranges.get(input);
        double[] b = table == null ? null : table.bounds(indices);
        if (b == null || b[0] > b[1]) return FloatBound.TOP;
        return new FloatBound(b[0], b[1], table.hasNaN());
    }

    @Override
    public int[] distinct(String input, IntBound[] indices) {
        ValueSets sets = valueSets.get(input);
        return sets == null ? null : sets.distinct(indices);
    }

    @Override
    public BoolBound member(String input, IntBound value, IntBound[] leading) {
        MemberSets sets = members.get(input);
        return sets == null ? BoolBound.UNKNOWN : sets.member(value, leading);
    }

    private static Tensor require(Map<String, Tensor> inputs, String name) {
        Tensor t = inputs.get(name);
        if (t == null) throw new IllegalArgumentException("the mask reads input '" + name + "', which was not given");
        return t;
    }

    private static java.util.Set<String> readInputs(Expr visibility) {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Expr e : nodes(visibility)) {
            if (e instanceof Expr.Load load) names.add(load.input());
            if (e instanceof Expr.Member m) names.add(m.input());
        }
        return names;
    }

    private static List<Expr> nodes(Expr root) {
        List<Expr> all = new ArrayList<>();
        List<Expr> pending = new ArrayList<>(List.of(root));
        while (!pending.isEmpty()) {
            Expr e = pending.removeLast();
            all.add(e);
            pending.addAll(ExprTree.children(e));
        }
        return all;
    }

    /**
     * Block maps kept across calls, keyed by the visibility expression, the tile grid, and each
     * input tensor's identity together with a hash of its contents. The hash is one pass over the
     * data (cheaper than a rebuild, not free) and catches a tensor refilled in place. A caller
     * that knows its tensors are unchanged can instead keep the {@link TileClassifier} itself.
     * Thread-safe; holds at most {@code capacity} maps (least recently used dropped).
     */
    public static final class Cache {
        /** Builds every time. */
        public static final Cache NONE = new Cache(0);

        private final int capacity;
        private final LinkedHashMap<Key, BlockMap> maps;

        public Cache(int capacity) {
            this.capacity = capacity;
            this.maps = new LinkedHashMap<>(16, 0.75f, true);
        }

        private record Key(Expr visibility, TileGrid grid, List<Object> tensors) {}

        /** The tensors the visibility reads, by name: each by identity (Tensor keeps Object's equals) and its contents hash. */
        private static List<Object> fingerprint(Expr visibility, Map<String, Tensor> inputs) {
            List<Object> parts = new ArrayList<>();
            readInputs(visibility).stream().sorted().forEach(name -> {
                Tensor t = require(inputs, name);
                parts.add(name);
                parts.add(t);
                parts.add(t.dtype().loadsAs() == attnc.ir.Type.FLOAT ? Arrays.hashCode(t.floats()) : Arrays.hashCode(t.ints()));
            });
            return parts;
        }

        public BlockMap get(Pattern pattern, TileGrid grid, Map<String, Tensor> inputs) {
            if (capacity == 0) return build(pattern, grid, inputs);
            Key key = new Key(pattern.visibility(), grid, fingerprint(pattern.visibility(), inputs));
            synchronized (this) {
                BlockMap known = maps.get(key);
                if (known != null) return known;
            }
            BlockMap built = build(pattern, grid, inputs);
            synchronized (this) {
                maps.put(key, built);
                while (maps.size() > capacity) maps.remove(maps.keySet().iterator().next());
            }
            return built;
        }
    }
}

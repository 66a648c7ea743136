package attnc.analysis;

import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.UnaryOp;
import attnc.launch.Binding;
import attnc.launch.ShapeException;
import attnc.reference.ElementEvaluator;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Before a launch: every index of every load of an input tensor stays within its dimension
 * wherever the reference would evaluate it (a load under {@code c && ...}, a branch of {@code ?:}
 * or in the score of a masked pair is not evaluated there). Kernels clamp indices, so a launch
 * that breaks this would run on clamped reads and give a wrong answer quietly; here it is refused
 * with the input, the dimension, the index expression, its value, the position and the bound.
 *
 * <p>Cost: for each index, the violation {@code guard && (index < 0 || index >= size)} is first
 * bounded over the whole launch by the interval analysis (no pass over data or elements, so a
 * correct launch of index-only indices, such as a document mask's, costs microseconds). Only if
 * that cannot rule it out are tiles classified with the inputs' block map and the elements of
 * non-empty tiles evaluated exactly, up to {@link #ELEMENT_BUDGET} evaluations per index; past
 * that, the rest is left to the kernels' clamping (never an out-of-bounds read).
 */
public final class IndexRanges {
    /** Exact element evaluations per index before the check gives up (about a second at worst). */
    static final long ELEMENT_BUDGET = 1L << 26;
    private static final int TILE = 64;

    private IndexRanges() {}

    /** One indexed dimension of one load, with the condition under which the reference evaluates it. */
    private record Site(String input, int dimension, Expr index, Expr guard, boolean perKey, boolean perChannel) {}

    public static void check(Pattern pattern, Binding binding, Map<String, Tensor> inputs) {
        if (pattern.inputs().isEmpty()) return;
        List<Site> sites = new ArrayList<>();
        Expr visibility = pattern.visibility();
        collect(visibility, TRUE, Map.of(), true, false, sites);
        collect(pattern.score(), inline(visibility, Map.of()), Map.of(), true, false, sites);
        collect(pattern.scale(), TRUE, Map.of(), false, false, sites);
        switch (pattern.norm()) {
            case Norm.Softmax(Optional<Expr> sink) -> sink.ifPresent(e -> collect(e, TRUE, Map.of(), false, false, sites));
            case Norm.Sigmoid(Expr bias) -> collect(bias, TRUE, Map.of(), false, false, sites);
            case Norm.Identity() -> { }
        }
        collect(pattern.output(), TRUE, Map.of(), false, true, sites);
        ElementEvaluator evaluator = null;
        for (Site site : sites) {
            Tensor tensor = inputs.get(site.input());
            if (tensor == null) continue;
            int size = tensor.dim(site.dimension());
            Expr violation = and(site.guard(), new Expr.Binary(BinaryOp.OR,
                    new Expr.Binary(BinaryOp.LT, site.index(), new Expr.IntLit(0)),
                    new Expr.Binary(BinaryOp.GE, site.index(), new Expr.IntLit(size))));
            if (ruledOut(violation, binding)) continue;
            if (evaluator == null) evaluator = new ElementEvaluator(binding, inputs);
            search(site, violation, tensor, binding, inputs, evaluator);
        }
    }

    private static final Expr TRUE = new Expr.BoolLit(true);

    /** Whether the interval analysis proves the violation false over the whole launch, with no data. */
    private static boolean ruledOut(Expr violation, Binding binding) {
        int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), nkv = binding.size("Nkv");
        if (b == 0 || h == 0 || nq == 0) return true;
        Box whole = new Box(0, b - 1, 0, h - 1, binding.queryOffset(), binding.queryOffset() + nq - 1L, 0, Math.max(0, nkv - 1L));
        return !IntervalAnalysis.of(violation, binding.sizes(), binding.params(), DataBounds.NONE, true).evaluate(whole).canTrue();
    }

    /** Evaluates the violation element by element where the block map cannot rule it out; throws at the first one found. */
    private static void search(Site site, Expr violation, Tensor tensor, Binding binding, Map<String, Tensor> inputs, ElementEvaluator evaluator) {
        ElementEvaluator.BoolAt violated = evaluator.bools(violation);
        ElementEvaluator.IntAt index = evaluator.ints(site.index());
        int batch = binding.size("B"), heads = binding.size("H"), nkv = binding.size("Nkv");
        int channels = site.perChannel() ? binding.size("Dv") : 1;
        long budget = ELEMENT_BUDGET;
        if (!site.perKey()) {
            int q0 = binding.queryOffset(), q1 = q0 + binding.size("Nq");
            for (int b = 0; b < batch; b++) for (int h = 0; h < heads; h++) for (int q = q0; q < q1; q++) {
                for (int d = 0; d < channels; d++) {
                    if (violated.at(b, h, q, 0, d)) throw refusal(site, tensor, index.at(b, h, q, 0, d), b, h, q, -1, site.perChannel() ? d : -1);
                }
                if ((budget -= channels) < 0) return;
            }
            return;
        }
        if (nkv == 0) return;
        TileClassifier tiles = ClassifyTiles.classifier(pattern(violation), binding, inputs, TILE, TILE);
        TileGrid grid = tiles.grid();
        for (int b = 0; b < (tiles.dependsOnBatch() ? batch : 1); b++) {
            for (int h = 0; h < (tiles.dependsOnHead() ? heads : 1); h++) {
                for (int qt = 0; qt < grid.qTiles(); qt++) {
                    TileClassifier.TileRow row = tiles.row(b, h, qt);
                    for (int r = 0; r < row.runs(); r++) {
                        for (int kt = row.first()[r]; kt <= row.last()[r]; kt++) {
                            for (int q = grid.qStart(qt); q <= grid.qEnd(qt); q++) {
                                for (int kv = grid.kvStart(kt); kv <= grid.kvEnd(kt); kv++) {
                                    if (violated.at(b, h, q, kv, 0)) throw refusal(site, tensor, index.at(b, h, q, kv, 0), b, h, q, kv, -1);
                                }
                            }
                            if ((budget -= (long) TILE * TILE) < 0) return;
                        }
                    }
                }
            }
        }
    }

    private static Pattern pattern(Expr violation) {
        return Pattern.of("index check", violation);
    }

    private static ShapeException refusal(Site site, Tensor tensor, int value, int b, int h, int q, int kv, int d) {
        String index = Printer.expr(site.index());
        if (index.length() > 80) index = index.substring(0, 77) + "...";
        String at = "b=" + b + ", h=" + h + ", q=" + q + (kv >= 0 ? ", kv=" + kv : "") + (d >= 0 ? ", d=" + d : "");
        return new ShapeException("input '" + site.input() + "' " + tensor.shapeText() + ": index " + index + " of dimension "
                + site.dimension() + " is " + value + " at " + at + "; expected 0.." + (tensor.dim(site.dimension()) - 1));
    }

    // ---- where loads are evaluated ---------------------------------------------------------

    /**
     * The loads of {@code e} with the condition under which the reference evaluates them: the
     * right of {@code &&} only where the left holds, of {@code ||} only where it fails, a branch
     * of {@code ?:} only where the condition picks it. Lets are substituted, so every index and
     * guard is a closed expression over b, h, q, kv, d, sizes, params and loads.
     */
    private static void collect(Expr e, Expr guard, Map<String, Expr> locals, boolean perKey, boolean perChannel, List<Site> sites) {
        switch (e) {
            case Expr.Binary(BinaryOp op, Expr l, Expr r) when op == BinaryOp.AND || op == BinaryOp.OR -> {
                collect(l, guard, locals, perKey, perChannel, sites);
                Expr left = inline(l, locals);
                collect(r, and(guard, op == BinaryOp.AND ? left : new Expr.Unary(UnaryOp.NOT, left)), locals, perKey, perChannel, sites);
            }
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                collect(c, guard, locals, perKey, perChannel, sites);
                Expr condition = inline(c, locals);
                collect(t, and(guard, condition), locals, perKey, perChannel, sites);
                collect(f, and(guard, new Expr.Unary(UnaryOp.NOT, condition)), locals, perKey, perChannel, sites);
            }
            case Expr.Let(String name, Expr value, Expr body) -> {
                collect(value, guard, locals, perKey, perChannel, sites);
                Map<String, Expr> inner = new HashMap<>(locals);
                inner.put(name, inline(value, locals));
                collect(body, guard, inner, perKey, perChannel, sites);
            }
            case Expr.Load(String input, var dtype, List<Expr> indices) -> {
                for (int i = 0; i < indices.size(); i++) {
                    collect(indices.get(i), guard, locals, perKey, perChannel, sites);
                    sites.add(new Site(input, i, inline(indices.get(i), locals), guard, perKey, perChannel));
                }
            }
            case Expr.Member(Expr value, String input, var dtype, List<Expr> leading) -> {
                collect(value, guard, locals, perKey, perChannel, sites);
                for (int i = 0; i < leading.size(); i++) {
                    collect(leading.get(i), guard, locals, perKey, perChannel, sites);
                    sites.add(new Site(input, i, inline(leading.get(i), locals), guard, perKey, perChannel));
                }
            }
            default -> {
                for (Expr child : ExprTree.children(e)) collect(child, guard, locals, perKey, perChannel, sites);
            }
        }
    }

    private static Expr and(Expr guard, Expr condition) {
        return guard instanceof Expr.BoolLit(boolean v) && v ? condition : new Expr.Binary(BinaryOp.AND, guard, condition);
    }

    /** {@code e} with every let-bound local replaced by its (substituted) value. */
    private static Expr inline(Expr e, Map<String, Expr> locals) {
        return switch (e) {
            case Expr.LocalRef(String name, var type) -> locals.getOrDefault(name, e);
            case Expr.Let(String name, Expr value, Expr body) -> {
                Map<String, Expr> inner = new HashMap<>(locals);
                inner.put(name, inline(value, locals));
                yield inline(body, inner);
            }
            default -> {
                List<Expr> children = ExprTree.children(e);
                if (children.isEmpty()) yield e;
                List<Expr> inlined = new ArrayList<>(children.size());
                for (Expr child : children) inlined.add(inline(child, locals));
                yield ExprTree.withChildren(e, inlined);
            }
        };
    }
}

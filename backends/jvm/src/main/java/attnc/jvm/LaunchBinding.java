package attnc.jvm;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.pass.FoldConstants;
import attnc.launch.Binding;
import attnc.launch.ShapeException;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link Binding} for launches whose Q, K and V are {@link StridedTensor}s rather than heap
 * {@link Tensor}s: the same checks and the same result, from shapes alone. Params are checked
 * by {@link Binding#of} itself on a stand-in problem with the pattern's inputs.
 */
final class LaunchBinding {
    private LaunchBinding() {}

    static Binding of(Pattern pattern, StridedTensor q, StridedTensor k, StridedTensor v,
                      Map<String, Tensor> inputs, Map<String, Expr> params, int queryOffset) {
        if (k.batch() != q.batch() || v.batch() != q.batch() || k.width() != q.width() || k.heads() != v.heads() || k.n() != v.n()) {
            throw new ShapeException("q " + shape(q) + ", k " + shape(k) + ", v " + shape(v)
                    + " do not agree: expected q [B, H, Nq, D], k [B, Hkv, Nkv, D], v [B, Hkv, Nkv, Dv]");
        }
        if (k.heads() == 0 || q.heads() % k.heads() != 0) {
            throw new ShapeException("heads: H = " + q.heads() + " must be a multiple of Hkv = " + k.heads() + " (GQA/MQA)");
        }
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.put("B", q.batch());
        sizes.put("H", q.heads());
        sizes.put("Nq", q.n());
        sizes.put("D", q.width());
        sizes.put("Hkv", k.heads());
        sizes.put("Nkv", k.n());
        sizes.put("Dv", v.width());
        for (Input input : pattern.inputs()) {
            Tensor t = inputs.get(input.name());
            if (t == null) throw new ShapeException("input '" + input.name() + "' is missing");
            if (t.rank() != input.shape().size()) throw new ShapeException("input '" + input.name() + "': expected rank " + input.shape().size() + ", got " + t.shapeText());
            for (int i = 0; i < t.rank(); i++) {
                if (input.shape().get(i) instanceof Expr.SizeRef(String name)) sizes.putIfAbsent(name, t.dim(i));
            }
            int[] expected = input.shape().stream().mapToInt(dim -> evaluate(dim, sizes, input)).toArray();
            if (!Arrays.equals(expected, t.shape())) {
                throw new ShapeException("input '" + input.name() + "': expected shape " + Arrays.toString(expected) + ", got " + t.shapeText());
            }
        }
        int offset = queryOffset >= 0 ? queryOffset : Math.max(0, k.n() - q.n());
        Map<String, Expr> values = new LinkedHashMap<>();
        for (var p : pattern.params()) {
            Expr value = params.containsKey(p.name()) ? params.get(p.name()) : p.defaultValue()
                    .orElseThrow(() -> new ShapeException("param '" + p.name() + "' has no default; expected a value (" + p.type() + ")"));
            values.put(p.name(), value);
        }
        Binding binding = new Binding(Map.copyOf(sizes), offset, values);
        attnc.analysis.IndexRanges.check(pattern, binding, inputs);
        return binding;
    }

    private static String shape(StridedTensor t) {
        return "[" + t.batch() + ", " + t.heads() + ", " + t.n() + ", " + t.width() + "]";
    }

    private static int evaluate(Expr dim, Map<String, Integer> sizes, Input input) {
        Expr known = ExprTree.rewrite(dim, e -> e instanceof Expr.SizeRef(String n) && sizes.containsKey(n) ? new Expr.IntLit(sizes.get(n)) : e);
        Expr folded;
        try {
            folded = FoldConstants.foldChecked(known, Map.of());
        } catch (FoldConstants.FoldException e) {
            throw new ShapeException("input '" + input.name() + "': dimension " + attnc.ir.Printer.expr(dim) + " does not fit in int32 at these sizes (" + e.getMessage() + ")");
        }
        if (folded instanceof Expr.IntLit(int v)) return v;
        throw new ShapeException("input '" + input.name() + "': cannot evaluate dimension " + attnc.ir.Printer.expr(dim));
    }
}

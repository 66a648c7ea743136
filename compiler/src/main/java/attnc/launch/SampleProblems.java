package attnc.launch;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.pass.FoldConstants;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Random launches of a pattern at a chosen shape, for device checks and tests of tile lists:
 * Q, K, V uniform in [-1, 1) in the given precision, float inputs likewise, int inputs small
 * (0..3, so equal document ids and block hits actually occur; inputs named {@code doc...} sorted
 * per row, like packed documents), symbolic sizes 8, params at their defaults.
 */
public final class SampleProblems {
    private SampleProblems() {}

    /** Sizes B, H, Hkv, Nq, Nkv, D, Dv, the query offset ({@link Problem#BOTTOM_RIGHT} allowed). */
    public record Shape(int batch, int heads, int kvHeads, int nq, int nkv, int headDim, int valueDim, int queryOffset) {
        /** Dv = D. */
        public Shape(int batch, int heads, int kvHeads, int nq, int nkv, int headDim, int queryOffset) {
            this(batch, heads, kvHeads, nq, nkv, headDim, headDim, queryOffset);
        }
    }

    public static Problem of(Pattern pattern, Shape shape, DType precision, Random random) {
        Tensor q = Tensor.random(precision, new int[] {shape.batch(), shape.heads(), shape.nq(), shape.headDim()}, random);
        Tensor k = Tensor.random(precision, new int[] {shape.batch(), shape.kvHeads(), shape.nkv(), shape.headDim()}, random);
        Tensor v = Tensor.random(precision, new int[] {shape.batch(), shape.kvHeads(), shape.nkv(), shape.valueDim()}, random);
        int offset = shape.queryOffset() < 0 ? shape.nkv() - shape.nq() : shape.queryOffset();
        Map<String, Integer> sizes = Map.of("B", shape.batch(), "H", shape.heads(), "Hkv", shape.kvHeads(), "Nq", shape.nq(),
                "Nkv", shape.nkv(), "D", shape.headDim(), "Dv", shape.valueDim(), "Q0", offset);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) {
            int[] dims = input.shape().stream().mapToInt(e -> dimension(e, sizes, pattern)).toArray();
            int count = Math.toIntExact(Tensor.elementCount(dims));
            if (input.dtype().loadsAs() == Type.FLOAT) {
                inputs.put(input.name(), Tensor.random(input.dtype(), dims, random));
            } else {
                int[] values = new int[count];
                for (int i = 0; i < count; i++) values[i] = random.nextInt(4);
                int row = dims.length == 0 ? 1 : dims[dims.length - 1];
                if (input.name().startsWith("doc") && row > 0) for (int r = 0; r < count / row; r++) Arrays.sort(values, r * row, (r + 1) * row);
                inputs.put(input.name(), Tensor.ofInts(input.dtype(), dims, values));
            }
        }
        return new Problem(q, k, v, inputs, Map.of(), shape.queryOffset());
    }

    /** A declared input dimension evaluated with the launch sizes and the params' defaults; other sizes are 8. */
    private static int dimension(Expr dim, Map<String, Integer> sizes, Pattern pattern) {
        Map<String, Expr> params = new HashMap<>();
        for (Param p : pattern.params()) p.defaultValue().ifPresent(v -> params.put(p.name(), v));
        Expr bound = ExprTree.rewrite(dim, e -> e instanceof Expr.SizeRef(String n) ? new Expr.IntLit(sizes.getOrDefault(n, 8)) : e);
        return FoldConstants.fold(bound, params) instanceof Expr.IntLit(int v) ? v : 8;
    }
}

package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.ShapeException;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** The self-attention launch {@code plot} and {@code explain} evaluate a mask in: n positions, query offset 0. */
final class ProbeLaunch {
    private ProbeLaunch() {}

    /**
     * The binding of a probe launch; when its inputs were drawn at random, a refusal (an index
     * beyond a symbolic size, most often) says how to choose the sizes or values.
     */
    static Binding bind(Pattern pattern, Problem problem, boolean randomInputs) {
        try {
            return Binding.of(pattern, problem);
        } catch (ShapeException e) {
            if (!randomInputs || pattern.inputs().isEmpty()) throw e;
            throw new UserError(e.getMessage() + " (the inputs are random: choose symbolic sizes with --size NAME=N, "
                    + "int32 values with --int-max N, or pass real ones with --inputs DIR)");
        }
    }

    static Problem problem(Pattern pattern, Map<String, Expr> params, Random random, int batch, int heads, int positions,
                           int headDim, int valueDim, Map<String, Integer> symbolicSizes, int intBound) {
        int[] shape = {batch, heads, positions, headDim};
        Tensor q = Tensor.random(DType.FLOAT32, shape, random);
        Tensor k = Tensor.random(DType.FLOAT32, shape, random);
        Tensor v = Tensor.random(DType.FLOAT32, new int[] {batch, heads, positions, valueDim}, random);
        Map<String, Integer> sizes = new LinkedHashMap<>(Map.of("B", batch, "H", heads, "Hkv", heads,
                "Nq", positions, "Nkv", positions, "D", headDim, "Dv", valueDim));
        sizes.putAll(RandomInputs.symbolicSizes(pattern, symbolicSizes));
        return new Problem(q, k, v, RandomInputs.make(pattern, sizes, random, intBound), params, 0);
    }
}

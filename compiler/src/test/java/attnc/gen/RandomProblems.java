package attnc.gen;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Sizes;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Random launches of a pattern: small shapes (GQA, Nq ≠ Nkv, query offsets), every input filled, params set or defaulted. */
public final class RandomProblems {
    private RandomProblems() {}

    public static Problem problem(Pattern pattern, Random random) {
        int batch = 1 + random.nextInt(2), kvHeads = 1 + random.nextInt(2), heads = kvHeads * (1 + random.nextInt(2));
        int nq = 1 + random.nextInt(5), nkv = 1 + random.nextInt(7), headDim = 1 + random.nextInt(4), valueDim = 1 + random.nextInt(4);
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", batch, "H", heads, "Hkv", kvHeads, "Nq", nq, "Nkv", nkv,
                "D", headDim, "Dv", valueDim));
        DType dtype = random.nextInt(4) == 0 ? DType.BFLOAT16 : DType.FLOAT32;
        Tensor q = Tensor.random(dtype, new int[] {batch, heads, nq, headDim}, random);
        Tensor k = Tensor.random(dtype, new int[] {batch, kvHeads, nkv, headDim}, random);
        Tensor v = Tensor.random(dtype, new int[] {batch, kvHeads, nkv, valueDim}, random);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), tensor(input, sizes, random));
        Map<String, Expr> params = new LinkedHashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty() || random.nextBoolean()) params.put(p.name(), paramValue(p, random));
        }
        int offset = switch (random.nextInt(3)) {
            case 0 -> Problem.BOTTOM_RIGHT;
            case 1 -> 0;
            default -> random.nextInt(4);
        };
        return new Problem(q, k, v, inputs, params, offset);
    }

    /** A random tensor of the input's declared shape; symbolic sizes get a value the first time they are seen. */
    public static Tensor tensor(Input input, Map<String, Integer> sizes, Random random) {
        int[] shape = new int[input.shape().size()];
        for (int i = 0; i < shape.length; i++) {
            Expr dim = input.shape().get(i);
            if (dim instanceof Expr.SizeRef(String name) && !Sizes.STANDARD.contains(name)) sizes.putIfAbsent(name, 1 + random.nextInt(4));
            shape[i] = (Integer) new ScalarEvaluator(sizes, Map.of(), Map.of()).eval(dim, new Point(0, 0, 0, 0, 0, 0, 0));
        }
        int count = Math.toIntExact(Tensor.elementCount(shape));
        return switch (input.dtype()) {
            case INT32, BOOL -> {
                int[] data = new int[count];
                for (int i = 0; i < count; i++) data[i] = random.nextInt(11) - 2;
                yield Tensor.ofInts(input.dtype(), shape, data);
            }
            default -> Tensor.random(input.dtype(), shape, random);
        };
    }

    public static Expr paramValue(Param p, Random random) {
        return switch (p.type()) {
            case INT -> new Expr.IntLit(random.nextInt(20) - 4);
            // An fp32 number, as the kernels take float params: they and the reference see the same value.
            case FLOAT -> new Expr.FloatLit((float) (random.nextGaussian() * 2));
            case BOOL -> new Expr.BoolLit(random.nextBoolean());
        };
    }

    /** A random element of the launch's iteration space, with random s and o. */
    public static Point point(Binding binding, Random random) {
        return new Point(random.nextInt(binding.size("B")), random.nextInt(binding.size("H")),
                binding.queryOffset() + random.nextInt(binding.size("Nq")), random.nextInt(binding.size("Nkv")),
                random.nextInt(binding.size("Dv")), random.nextGaussian() * 3, random.nextGaussian() * 3);
    }
}

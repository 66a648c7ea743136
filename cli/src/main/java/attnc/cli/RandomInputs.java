package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Sizes;
import attnc.pass.FoldConstants;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded random tensors for a pattern's declared inputs: floats uniform in [-1, 1) (rounded to
 * the declared dtype), int32 uniform in [0, intBound), bool true or false with equal odds. Real
 * document ids, lengths or selections come from {@code --inputs}; these only exercise the kernel.
 */
final class RandomInputs {
    private RandomInputs() {}

    /** The symbolic sizes the pattern's inputs name, with their value from {@code given} or the default. */
    static Map<String, Integer> symbolicSizes(Pattern pattern, Map<String, Integer> given) {
        Set<String> names = new LinkedHashSet<>();
        for (Input input : pattern.inputs()) {
            for (Expr dim : input.shape()) collectSymbolic(dim, names);
        }
        for (String name : given.keySet()) {
            if (!names.contains(name)) {
                throw new UserError("--size " + name + ": " + pattern.name() + " has no symbolic size " + name + "; "
                        + (names.isEmpty() ? "it has none" : "expected one of " + String.join(", ", names)));
            }
        }
        Map<String, Integer> sizes = new LinkedHashMap<>();
        for (String name : names) sizes.put(name, given.getOrDefault(name, RandomData.DEFAULT_SYMBOLIC_SIZE));
        return sizes;
    }

    private static void collectSymbolic(Expr e, Set<String> names) {
        if (e instanceof Expr.SizeRef(String n) && !Sizes.STANDARD.contains(n)) names.add(n);
        for (Expr child : ExprTree.children(e)) collectSymbolic(child, names);
    }

    /** The shape of every declared input at these sizes, by name. */
    static Map<String, int[]> shapes(Pattern pattern, Map<String, Integer> sizes) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) {
            int[] shape = new int[input.shape().size()];
            for (int i = 0; i < shape.length; i++) shape[i] = evaluate(input, input.shape().get(i), sizes);
            shapes.put(input.name(), shape);
        }
        return shapes;
    }

    static Map<String, Tensor> make(Pattern pattern, Map<String, Integer> sizes, Random random, int intBound) {
        if (intBound < 1) throw new UserError("--int-max must be at least 1, got " + intBound);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, int[]> shapes = shapes(pattern, sizes);
        for (Input input : pattern.inputs()) {
            int[] shape = shapes.get(input.name());
            attnc.launch.Memory.elements("input '" + input.name() + "'", java.util.Arrays.stream(shape).asLongStream().toArray());
            tensors.put(input.name(), random(input.dtype(), shape, random, intBound));
        }
        return tensors;
    }

    /** How the random values of one input were drawn, for the report. */
    static String describe(DType dtype, int intBound) {
        return switch (dtype) {
            case INT32 -> "uniform ints in [0, " + intBound + ")";
            case BOOL -> "random true/false";
            default -> "uniform in [-1, 1)";
        };
    }

    private static Tensor random(DType dtype, int[] shape, Random random, int intBound) {
        int count = Math.toIntExact(Tensor.elementCount(shape));
        return switch (dtype) {
            case INT32, BOOL -> {
                int bound = dtype == DType.BOOL ? 2 : intBound;
                int[] values = new int[count];
                for (int i = 0; i < count; i++) values[i] = random.nextInt(bound);
                yield Tensor.ofInts(dtype, shape, values);
            }
            default -> Tensor.random(dtype, shape, random);
        };
    }

    /** The dimension with sizes substituted, folded; a product beyond int32 is named, not wrapped. */
    private static Expr foldedSize(Input input, Expr dim, Expr substituted) {
        try {
            return FoldConstants.foldChecked(substituted, Map.of());
        } catch (FoldConstants.FoldException e) {
            throw new UserError("input '" + input.name() + "': dimension " + Printer.expr(dim) + ": " + e.getMessage());
        }
    }

    private static int evaluate(Input input, Expr dim, Map<String, Integer> sizes) {
        Expr substituted = ExprTree.rewrite(dim, e -> e instanceof Expr.SizeRef(String n) && sizes.containsKey(n) ? new Expr.IntLit(sizes.get(n)) : e);
        if (foldedSize(input, dim, substituted) instanceof Expr.IntLit(int value) && value >= 0) return value;
        throw new UserError("input '" + input.name() + "': dimension " + Printer.expr(dim) + " does not evaluate to a size >= 0 here");
    }
}

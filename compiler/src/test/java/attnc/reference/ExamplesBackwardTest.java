package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Sizes;
import attnc.ir.Type;
import attnc.launch.Problem;
import attnc.launch.Wrt;
import attnc.pass.FoldConstants;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every example runs backward in the reference, optimised as a backend receives it, and its
 * gradients agree with finite differences of the forward (8 random elements of each: every
 * element would take 20 s of a 2-core machine's time for little more), at a small launch
 * with GQA, Nq ≠ Nkv and a query offset (B=2, H=4, Hkv=2, Nq=5, Nkv=9, D=4, Dv=3, bottom-right).
 * Float inputs are uniform in [-1, 1]; selections hold each query block's own block and padding;
 * other int inputs are in [0, Nkv]; symbolic sizes are 3.
 */
class ExamplesBackwardTest {
    private static final Map<String, Integer> SIZES = Map.of("B", 2, "H", 4, "Hkv", 2, "Nq", 5, "Nkv", 9, "D", 4, "Dv", 3);
    private static final int SYMBOLIC_SIZE = 3;
    private static final int ELEMENTS_PER_GRADIENT = 8;

    @TestFactory
    Stream<DynamicTest> everyExampleMatchesFiniteDifferences() throws IOException {
        Path examples = Path.of("..", "examples");
        List<Path> files;
        try (Stream<Path> listed = Files.list(examples)) {
            files = listed.filter(f -> f.toString().endsWith(".attn")).sorted().toList();
        }
        assertTrue(files.size() >= 30, "examples found in " + examples.toAbsolutePath());
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
            Random random = new Random(file.getFileName().toString().hashCode());
            GradientCheck.Outcome outcome = GradientCheck.run(pattern, problem(pattern, random), random, ELEMENTS_PER_GRADIENT);
            assertEquals(List.of(), outcome.failures());
            assertTrue(outcome.skipped() * 20 <= outcome.checked(), () -> outcome.skipped() + " of " + outcome.checked() + " elements skipped");
            // Not vacuous: each gradient had non-zero elements among those compared.
            outcome.nonZeroChecks().forEach((wrt, count) -> assertTrue(count > 0, () -> wrt.label() + ": only zeros compared"));
            assertEquals(Wrt.all(pattern), outcome.nonZeroChecks().keySet());
        }));
    }

    private static Problem problem(Pattern pattern, Random random) {
        Map<String, Integer> sizes = new HashMap<>(SIZES);
        Tensor q = Tensor.random(DType.FLOAT32, new int[] {2, 4, 5, 4}, random);
        Tensor k = Tensor.random(DType.FLOAT32, new int[] {2, 2, 9, 4}, random);
        Tensor v = Tensor.random(DType.FLOAT32, new int[] {2, 2, 9, 3}, random);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), tensor(pattern, input, sizes, random));
        return new Problem(q, k, v, inputs, Map.of(), Problem.BOTTOM_RIGHT);
    }

    private static Tensor tensor(Pattern pattern, Input input, Map<String, Integer> sizes, Random random) {
        int[] shape = input.shape().stream().mapToInt(dim -> {
            Expr bound = ExprTree.rewrite(dim, e -> {
                if (!(e instanceof Expr.SizeRef(String name))) return e;
                if (!Sizes.STANDARD.contains(name)) sizes.putIfAbsent(name, SYMBOLIC_SIZE);
                return new Expr.IntLit(name.equals("Q0") ? 4 : sizes.get(name));
            });
            return ((Expr.IntLit) FoldConstants.fold(bound, Map.of())).value();
        }).toArray();
        int count = Math.toIntExact(Tensor.elementCount(shape));
        if (input.dtype().loadsAs() == Type.FLOAT) return Tensor.random(input.dtype(), shape, random);
        boolean selection = ExprTree.any(pattern.visibility(), e -> e instanceof Expr.Member m && m.input().equals(input.name()));
        int[] data = new int[count];
        int width = shape[shape.length - 1];
        // Nine keys make one block of 64: a selection lists block 0 first, then block 0 or padding.
        for (int i = 0; i < count; i++) data[i] = selection ? (i % width == 0 ? 0 : random.nextInt(2) - 1) : random.nextInt(sizes.get("Nkv") + 1);
        return Tensor.ofInts(input.dtype(), shape, input.dtype() == DType.BOOL ? random.ints(count, 0, 2).toArray() : data);
    }
}

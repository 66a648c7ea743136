package attnc.jvm;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Problem;
import attnc.pass.FoldConstants;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every pattern in examples/ against the reference, on random inputs: floats uniform in [-1, 1),
 * ints small and non-negative (ids, lengths, block indices), symbolic sizes 4. Sizes are small
 * enough for the reference but cross tile boundaries (odd N, GQA).
 */
class ExamplesTest {
    static Stream<Path> examples() throws IOException {
        Path dir = Path.of("../../examples");
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".attn")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("examples")
    void agreesWithReference(Path file) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(file), Map.of());
        int b = 2, h = 4, hkv = 2, nq = 97, nkv = 131, d = 32;
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", b, "H", h, "Hkv", hkv, "Nq", nq, "Nkv", nkv, "D", d, "Dv", d));
        Random r = new Random(file.getFileName().toString().hashCode());
        Map<String, Tensor> inputs = new HashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), randomInput(input, sizes, r));
        Map<String, Expr> params = new HashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty()) params.put(p.name(), p.type() == Type.FLOAT ? new Expr.FloatLit(0.5) : p.type() == Type.INT ? new Expr.IntLit(3) : new Expr.BoolLit(true));
        }
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {b, h, nq, d}, r), Tensor.random(DType.FLOAT32, new int[] {b, hkv, nkv, d}, r),
                Tensor.random(DType.FLOAT32, new int[] {b, hkv, nkv, d}, r), inputs, params, Problem.BOTTOM_RIGHT);
        Agreement.check(Reference.run(pattern, problem), new JvmBackend().compile(pattern).forward(problem), file.toString());
    }

    /** Floats uniform in [-1, 1), ints in [0, 4) (bools 0 or 1), symbolic sizes 4. */
    static Tensor randomInput(Input input, Map<String, Integer> sizes, Random r) {
        int[] shape = new int[input.shape().size()];
        for (int i = 0; i < shape.length; i++) {
            Expr dim = input.shape().get(i);
            if (dim instanceof Expr.SizeRef(String name)) sizes.putIfAbsent(name, 4);
            Expr known = ExprTree.rewrite(dim, e -> e instanceof Expr.SizeRef(String n) ? new Expr.IntLit(sizes.getOrDefault(n, 4)) : e);
            shape[i] = ((Expr.IntLit) FoldConstants.fold(known, Map.of())).value();
        }
        if (input.dtype().loadsAs() == Type.FLOAT) return Tensor.random(input.dtype(), shape, r);
        int[] data = new int[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < data.length; i++) data[i] = r.nextInt(input.dtype() == DType.BOOL ? 2 : 4);
        return Tensor.ofInts(input.dtype(), shape, data);
    }

}

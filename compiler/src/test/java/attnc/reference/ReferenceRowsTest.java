package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reference on a sample of rows, its float result, its backend, and what it says before it allocates. */
class ReferenceRowsTest {
    private final Random random = new Random(9);

    private Problem problem(int batch, int heads, int nq, int nkv, int d) {
        return new Problem(Tensor.random(DType.FLOAT32, new int[] {batch, heads, nq, d}, random),
                Tensor.random(DType.FLOAT32, new int[] {batch, heads, nkv, d}, random),
                Tensor.random(DType.FLOAT32, new int[] {batch, heads, nkv, d}, random), Map.of());
    }

    @Test
    void sampledRowsEqualTheSameRowsOfTheWholeRun() throws CompileException {
        for (String norm : List.of("softmax(sink = 0.5)", "sigmoid(bias = -1.0)", "none")) {
            Pattern pattern = Frontend.compile("p", "mask: q >= kv && q - kv < 9\nscore: s + 0.1 * float(h)\nnorm: " + norm + "\noutput: o + 0.01 * float(d)");
            Problem problem = problem(2, 3, 300, 310, 4);
            Reference.Exact whole = Reference.run(pattern, problem);
            int[] rows = {0, 1, 299, 300, 777, 1799};
            List<Integer> progress = new ArrayList<>();
            Reference.Exact some = Reference.run(pattern, problem, rows, progress::add);
            assertArrayEquals(new int[] {rows.length, 4}, some.outShape());
            for (int i = 0; i < rows.length; i++) {
                for (int d = 0; d < 4; d++) assertEquals(whole.out()[rows[i] * 4 + d], some.out()[i * 4 + d], norm + " row " + rows[i]);
                if (whole.lse() != null) assertEquals(whole.lse()[rows[i]], some.lse()[i], norm + " lse of row " + rows[i]);
            }
            assertEquals(whole.lse() == null, some.lse() == null);
            assertEquals(List.of(rows.length), progress, "the count of rows done, at the end");
        }
    }

    @Test
    void progressIsHeardEvery256RowsAndAtTheEnd() throws CompileException {
        Pattern causal = Frontend.compile("c", "mask: q >= kv");
        List<Integer> progress = new ArrayList<>();
        Reference.run(causal, problem(1, 2, 300, 8, 2), null, progress::add);
        assertEquals(List.of(256, 512, 600), progress);
    }

    @Test
    void theFloatResultRoundsOutAndLse() throws CompileException {
        Reference.Exact exact = new Reference.Exact(new double[] {0.1, Double.NEGATIVE_INFINITY, 1e40}, new double[] {2.5, Double.NEGATIVE_INFINITY},
                new int[] {1, 1, 1, 3}, new double[] {0.5, 1e40, -1e40});
        Result result = exact.toResult();
        assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY}, result.out());
        assertArrayEquals(new float[] {2.5f, Float.NEGATIVE_INFINITY}, result.lse());
        assertArrayEquals(new int[] {1, 1, 1, 3}, result.outShape());
        assertArrayEquals(new float[] {0.5f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}, result.preOutput());
        Result plain = new Reference.Exact(new double[] {1}, null, new int[] {1, 1, 1, 1}, null).toResult();
        assertNull(plain.lse());
        assertNull(plain.preOutput());
    }

    @Test
    void theReferenceBackendRunsTheReference() throws CompileException {
        Backend backend = Backend.named("reference").orElseThrow();
        assertEquals("reference", backend.name());
        Pattern causal = Frontend.compile("c", "mask: q >= kv");
        Problem problem = problem(1, 2, 5, 7, 3);
        try (Kernel kernel = backend.compile(causal)) {
            assertEquals(causal, kernel.pattern());
            assertArrayEquals(Reference.run(causal, problem).toResult().out(), kernel.forward(problem).out());
        }
    }

    @Test
    void theMemoryFigureCountsOutputLseAndPerKeyBuffers() {
        assertEquals(8L * 10 * (4 + 1) + 9L * 7, Reference.bytesNeeded(10, 4, 7));
        assertEquals(8L * 3_000_000_000L * 65 + 9L * 2, Reference.bytesNeeded(3_000_000_000L, 64, 2), "no int overflow");
    }

    @Test
    void anIndexOutsideItsTensorIsTheReferencesOwnErrorToo() throws CompileException {
        Pattern table = Frontend.compile("t", "input t: float32[T]\nmask: true\nscore: s + t[kv]");
        Binding binding = new Binding(Map.of("B", 1, "H", 1, "Nq", 2, "Nkv", 5, "D", 2, "Dv", 2, "T", 3), 0, Map.of());
        ElementEvaluator evaluator = new ElementEvaluator(binding, Map.of("t", Tensor.random(DType.FLOAT32, new int[] {3}, random)));
        var score = evaluator.ints(new attnc.ir.Expr.Call(attnc.ir.Builtin.INT, List.of(((attnc.ir.Expr.Binary) table.score()).right())));
        score.at(0, 0, 1, 2, 0);
        ShapeException e = assertThrows(ShapeException.class, () -> score.at(0, 0, 1, 3, 0));
        assertEquals("input 't': index 3 in dimension 0 is outside 0..2 (at b=0, h=0, q=1, kv=3)", e.getMessage());
        assertThrows(ShapeException.class, () -> score.at(0, 0, 1, -1, 0));
    }
}

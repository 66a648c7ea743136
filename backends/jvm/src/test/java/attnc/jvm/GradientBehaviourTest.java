package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.kernel.Driver;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.launch.Wrt;
import attnc.pass.Passes;
import attnc.reference.ReferenceBackward;
import attnc.run.Backend;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.opentest4j.AssertionFailedError;

/** What the random properties do not aim at directly: reproducibility, masked rows, NaN, subsets and refusals. */
class GradientBehaviourTest {
    /** Every way an input's gradient is reduced: per element (a bucket table), head, row, column, norm value, scale and output. */
    private static final String EVERY_SITE = """
            input table: float32[H, 16]
            input slope: float32[H]
            input G: float32[B, H, Nkv]
            input sinks: float32[H]
            input temp: float32[H]
            input gate: float32[B, H, Nq]
            mask: q >= kv && q - kv < 90
            score: s * exp(0.1 * (G[b, h, q - Q0] - G[b, h, kv])) - slope[h] * float(q - kv) + table[h, min(q - kv, 15)]
            norm: softmax(sink = sinks[h])
            scale: 0.2 + 0.1 * temp[h]
            output: o * sigmoid(gate[b, h, q - Q0])
            """;

    private static Pattern pattern(String text) throws Exception {
        return Passes.optimize(Frontend.compile("t", text), Map.of());
    }

    private static Problem problem(Pattern pattern, int b, int h, int hkv, int nq, int nkv, int d, int dv, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (var input : pattern.inputs()) {
            int[] shape = input.shape().stream().mapToInt(e -> switch (attnc.ir.Printer.expr(e)) {
                case "B" -> b; case "H" -> h; case "Nq" -> nq; case "Nkv" -> nkv; case "Dv" -> dv;
                default -> Integer.parseInt(attnc.ir.Printer.expr(e));
            }).toArray();
            inputs.put(input.name(), input.dtype() == DType.INT32 ? Tensor.ofInts(DType.INT32, shape, new int[shape[0]])
                    : Tensor.random(input.dtype(), shape, r));
        }
        return new Problem(Tensor.random(DType.FLOAT32, new int[] {b, h, nq, d}, r), Tensor.random(DType.FLOAT32, new int[] {b, hkv, nkv, d}, r),
                Tensor.random(DType.FLOAT32, new int[] {b, hkv, nkv, dv}, r), inputs, Map.of(), Problem.BOTTOM_RIGHT);
    }

    @Test
    void registeredWithABackward() {
        assertTrue(Backend.named("jvm").orElseThrow().hasBackward());
    }

    /**
     * A launch's per-row arrays are handed to later launches: a smaller one with padding (D = 40,
     * Dv = 24 in vectors of 16; 70 queries in tiles of 128) after a larger one that filled them
     * with its own values gets the bits it got on arrays no launch had used.
     */
    @Test
    void arraysOfAnEarlierLaunchChangeNothing() throws Exception {
        Pattern p = pattern(EVERY_SITE);
        JvmKernel kernel = new JvmBackend().compile(p);
        Problem small = problem(p, 1, 4, 2, 70, 90, 40, 24, 3), large = problem(p, 2, 6, 2, 300, 333, 64, 64, 4);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {1, 4, 70, 24}, new Random(5));
        Set<Wrt> all = Wrt.all(p);
        Result forward = kernel.forward(small);
        Gradients before = kernel.backward(small, forward, dOut, all, BackwardOptions.reproducible());
        Result big = kernel.forward(large);
        for (int i = 0; i < 3; i++) kernel.backward(large, big, Tensor.random(DType.FLOAT32, new int[] {2, 6, 300, 64}, new Random(i)), all, BackwardOptions.reproducible());
        Gradients after = kernel.backward(small, forward, dOut, all, BackwardOptions.reproducible());
        assertEquals(java.util.Optional.empty(), before.firstDifference(after));
    }

    /** Transcendental functions whose Vector API versions round differently once compiled: tanh, sigmoid, log. */
    private static final String TRANSCENDENTAL = """
            input slope: float32[H]
            mask: q >= kv
            score: 5.0 * tanh(s / 5.0) + 0.1 * log(1.0 + abs(s)) - slope[h] * float(q - kv)
            norm: sigmoid(bias = -log(float(Nkv)))
            """;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void deterministicModeIsBitwiseReproducibleAcrossRunsAndThreadCounts(boolean everySite) throws Exception {
        Pattern p = pattern(everySite ? EVERY_SITE : TRANSCENDENTAL);
        Problem problem = problem(p, 2, 6, 2, 300, 333, 40, 24, 7);
        JvmKernel kernel = new JvmBackend().compile(p);
        Result forward = kernel.forward(problem);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {2, 6, 300, 24}, new Random(8));
        Set<Wrt> all = Wrt.all(p);
        Gradients first = kernel.backward(problem, forward, dOut, all, BackwardOptions.reproducible());
        Gradients again = kernel.backward(problem, forward, dOut, all, BackwardOptions.reproducible());
        Gradients alone = kernel.backward(problem, forward, dOut, all, BackwardOptions.reproducible().withThreads(1));
        assertEquals(all.size(), everySite ? 3 + 6 : 3 + 1, "dq, dk, dv and the inputs");
        for (Wrt w : all) {
            assertArrayEquals(first.get(w).floats(), again.get(w).floats(), w.label() + ": two runs on " + Driver.Pool.shared().parallelism() + " threads");
            assertArrayEquals(first.get(w).floats(), alone.get(w).floats(), w.label() + ": " + Driver.Pool.shared().parallelism() + " threads and one");
        }
        Gradients scheduled = kernel.backward(problem, forward, dOut, all, BackwardOptions.standard());
        GradientAgreement.check(ReferenceBackward.run(p, problem, forward, dOut, all), first, all, GradientAgreement.terms(problem), "deterministic");
        GradientAgreement.check(ReferenceBackward.run(p, problem, forward, dOut, all), scheduled, all, GradientAgreement.terms(problem), "scheduled");
    }

    @Test
    void theBackwardClassCallsNoLibraryVectorMath() throws Exception {
        var generated = attnc.jvm.emit.BackwardGenerator.generate(attnc.lower.LowerBackward.lower(pattern(TRANSCENDENTAL + "output: o * exp(-0.1 * float(d))\n")),
                attnc.jvm.emit.Tiling.standard());
        java.util.List<String> calls = new java.util.ArrayList<>();
        new org.objectweb.asm.ClassReader(generated.bytes()).accept(new org.objectweb.asm.ClassVisitor(org.objectweb.asm.Opcodes.ASM9) {
            @Override
            public org.objectweb.asm.MethodVisitor visitMethod(int access, String name, String desc, String signature, String[] exceptions) {
                return new org.objectweb.asm.MethodVisitor(org.objectweb.asm.Opcodes.ASM9) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String method, String d, boolean isInterface) {
                        if (d.contains("FloatVector") && java.util.Set.of("EXP", "LOG", "LOG2", "TANH", "SIGMOID").contains(method)) calls.add(owner + "." + method);
                    }
                };
            }
        }, 0);
        assertTrue(calls.contains("attnc/jvm/kernel/ExactLanes.TANH") && calls.contains("attnc/jvm/kernel/ExactLanes.LOG"), calls.toString());
        assertTrue(calls.stream().allMatch(c -> c.startsWith("attnc/jvm/kernel/ExactLanes.")), calls.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"softmax", "softmax(sink = 0.5)", "sigmoid(bias = -1.0)", "none"})
    void fullyMaskedRowsGiveZeroGradients(String norm) throws Exception {
        Pattern p = pattern("input len: int32[B]\ninput slope: float32[H]\nmask: kv < len[b] && q >= 3\n"
                + "score: s - slope[h] * float(q - kv)\nnorm: " + norm + "\n");
        Random r = new Random(3);
        Tensor len = Tensor.ofInts(DType.INT32, new int[] {2}, new int[] {0, 50});
        Tensor slope = Tensor.random(DType.FLOAT32, new int[] {2}, r);
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {2, 2, 70, 32}, r), Tensor.random(DType.FLOAT32, new int[] {2, 2, 70, 32}, r),
                Tensor.random(DType.FLOAT32, new int[] {2, 2, 70, 32}, r), Map.of("len", len, "slope", slope), Map.of(), 0);
        JvmKernel kernel = new JvmBackend().compile(p);
        Result forward = kernel.forward(problem);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {2, 2, 70, 32}, r);
        Gradients g = kernel.backward(problem, forward, dOut);
        float[] dq = g.dq().floats(), dk = g.dk().floats(), dv = g.dv().floats();
        // Batch 0 sees nothing; in batch 1 rows 0..2 see nothing and keys from 50 on are never seen.
        for (int i = 0; i < 2 * 70 * 32; i++) {
            assertEquals(0f, dq[i], "dq, batch 0");
            assertEquals(0f, dk[i], "dk, batch 0");
            assertEquals(0f, dv[i], "dv, batch 0");
        }
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 3 * 32; i++) assertEquals(0f, dq[((2 + h) * 70) * 32 + i], "dq of a masked row");
            for (int i = 50 * 32; i < 70 * 32; i++) assertEquals(0f, dk[((2 + h) * 70) * 32 + i], "dk of an unseen key");
        }
        GradientAgreement.check(ReferenceBackward.run(p, problem, forward, dOut, Wrt.all(p)), g, Wrt.all(p), GradientAgreement.terms(problem), norm);
    }

    @Test
    void nanNeverPasses() throws Exception {
        Pattern p = pattern("mask: q >= kv\n");
        Problem problem = problem(p, 1, 1, 1, 5, 5, 16, 16, 1);
        Result forward = new JvmBackend().compile(p).forward(problem);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {1, 1, 5, 16}, new Random(2));
        var reference = ReferenceBackward.run(p, problem, forward, dOut, Wrt.all(p));
        Map<Wrt, Tensor> values = new LinkedHashMap<>(reference.toGradients().values());
        float[] dq = values.get(Wrt.Q).floats().clone();
        dq[7] = Float.NaN;
        values.put(Wrt.Q, Tensor.ofFloats(DType.FLOAT32, new int[] {1, 1, 5, 16}, dq));
        assertThrows(AssertionFailedError.class, () -> GradientAgreement.check(reference, new Gradients(values), Wrt.all(p), 1, "NaN"));
        GradientAgreement.check(reference, reference.toGradients(), Wrt.all(p), 1, "the reference itself");
    }

    @Test
    void aSubsetIsComputedAloneAndArgumentsAreCheckedFirst() throws Exception {
        Pattern p = pattern(EVERY_SITE);
        Problem problem = problem(p, 1, 2, 1, 40, 45, 16, 16, 5);
        JvmKernel kernel = new JvmBackend().compile(p);
        Result forward = kernel.forward(problem);
        Tensor dOut = Tensor.random(DType.FLOAT32, new int[] {1, 2, 40, 16}, new Random(6));
        Set<Wrt> some = Set.of(Wrt.K, Wrt.input("slope"), Wrt.input("gate"));
        Gradients all = kernel.backward(problem, forward, dOut, Wrt.all(p), BackwardOptions.reproducible());
        Gradients part = kernel.backward(problem, forward, dOut, some, BackwardOptions.reproducible());
        assertEquals(some, part.values().keySet());
        for (Wrt w : some) assertArrayEquals(all.get(w).floats(), part.get(w).floats(), w.label());
        assertEquals("dOut: expected shape [1, 2, 40, 16] [B, H, Nq, Dv], got [1, 2, 40, 8]",
                assertThrows(ShapeException.class, () -> kernel.backward(problem, forward, Tensor.random(DType.FLOAT32, new int[] {1, 2, 40, 8}, new Random(1)))).getMessage());
        assertTrue(assertThrows(ShapeException.class, () -> kernel.backward(problem, new Result(forward.out(), forward.lse(), forward.outShape()), dOut))
                .getMessage().contains("Result.preOutput"));
    }
}

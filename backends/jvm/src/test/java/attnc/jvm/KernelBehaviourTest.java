package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.jvm.kernel.Lanes;
import attnc.jvm.kernel.OutputSink;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.run.Backend;
import attnc.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Features the random properties do not aim at directly: layouts, decode splits, masked rows, threads. */
class KernelBehaviourTest {
    private static Pattern pattern(String text) throws Exception {
        return Passes.optimize(Frontend.compile("t", text), Map.of());
    }

    private static Problem problem(DType dtype, int b, int h, int hkv, int nq, int nkv, int d, Map<String, Tensor> inputs, long seed) {
        Random r = new Random(seed);
        return new Problem(Tensor.random(dtype, new int[] {b, h, nq, d}, r), Tensor.random(dtype, new int[] {b, hkv, nkv, d}, r),
                Tensor.random(dtype, new int[] {b, hkv, nkv, d}, r), inputs, Map.of(), Problem.BOTTOM_RIGHT);
    }

    @Test
    void registeredAsJvm() {
        assertEquals(JvmBackend.class, Backend.named("jvm").orElseThrow().getClass());
    }

    @Test
    void fullyMaskedRowsGiveZeroAndMinusInfinityLse() throws Exception {
        Pattern p = pattern("input len: int32[B]\nmask: kv < len[b] && q >= 3\n");
        Tensor len = Tensor.ofInts(DType.INT32, new int[] {2}, new int[] {0, 50});
        Problem problem = problem(DType.FLOAT32, 2, 2, 2, 70, 70, 32, Map.of("len", len), 3);
        Result result = new JvmBackend().compile(p).forward(problem);
        Agreement.check(Reference.run(p, problem), result, "masked rows");
        for (int i = 0; i < 2 * 70 * 32; i++) assertEquals(0f, result.out()[i], "batch 0 sees nothing");
        for (int i = 0; i < 2 * 70; i++) assertEquals(Float.NEGATIVE_INFINITY, result.lse()[i]);
        assertEquals(0f, result.out()[(2 * 70) * 32], "row q = 0 of batch 1 is masked by q >= 3");
    }

    @Test
    void forwardKeepsOBeforeAnOutputTransformOnly() throws Exception {
        Pattern gated = pattern("input gate: float32[B, H, Nq, Dv]\nmask: q >= kv\noutput: o * sigmoid(gate[b, h, q - Q0, d])\n");
        Random r = new Random(4);
        Tensor gate = Tensor.random(DType.FLOAT32, new int[] {2, 4, 37, 20}, r);
        Problem problem = problem(DType.FLOAT32, 2, 4, 2, 37, 50, 20, Map.of("gate", gate), 5);
        Result result = new JvmBackend().compile(gated).forward(problem);
        double[] expected = Reference.run(gated, problem).preOutput();
        assertEquals(expected.length, result.preOutput().length);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], result.preOutput()[i], Agreement.RELATIVE, "o[" + i + "]");
        Problem plain = problem(DType.FLOAT32, 1, 2, 2, 9, 9, 8, Map.of(), 5);
        assertEquals(null, new JvmBackend().compile(pattern("mask: q >= kv\n")).forward(plain).preOutput());
    }

    @Test
    void decodeSplitsKeysAndMergesWithLse() throws Exception {
        Pattern p = pattern("mask: q - kv < 3000\nscore: 5.0 * tanh(s / 5.0)\n");
        for (int nq : new int[] {1, 3}) {
            Problem problem = problem(DType.FLOAT32, 1, 2, 1, nq, 5000, 64, Map.of(), nq);
            Agreement.check(Reference.run(p, problem), new JvmBackend().compile(p).forward(problem), "decode nq=" + nq);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "BFLOAT16", "FLOAT16"})
    void stridedSegmentsInBothLayouts(DType dtype) throws Exception {
        Pattern p = pattern("mask: q >= kv\n");
        int b = 2, h = 4, hkv = 2, n = 77, d = 40;
        Problem problem = problem(dtype, b, h, hkv, n, n, d, Map.of(), 11);
        var expected = Reference.run(p, problem);
        JvmKernel kernel = new JvmBackend().compile(p);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment q = packed(arena, problem.q(), dtype), k = packed(arena, problem.k(), dtype), v = packed(arena, problem.v(), dtype);
            MemorySegment out = arena.allocate(4L * b * n * h * d);
            float[] lse = new float[b * h * n];
            Problem views = new Problem(bnhd(q, dtype, b, n, h, d), bnhd(k, dtype, b, n, hkv, d), bnhd(v, dtype, b, n, hkv, d), Map.of());
            kernel.forward(views, bnhd(out, DType.FLOAT32, b, n, h, d), Tensor.wrap(lse, b, h, n));
            float[] dense = new float[b * h * n * d];
            for (int bi = 0; bi < b; bi++) for (int hi = 0; hi < h; hi++) for (int qi = 0; qi < n; qi++) for (int c = 0; c < d; c++) {
                dense[((bi * h + hi) * n + qi) * d + c] = out.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) (bi * n + qi) * h + hi) * d + c);
            }
            Agreement.check(expected, new Result(dense, lse, null), "bnhd " + dtype);
        }
    }

    /** A [B, N, H, D] segment seen as [B, H, N, D]. */
    private static Tensor bnhd(MemorySegment segment, DType dtype, int b, int n, int h, int d) {
        return Tensor.wrap(segment, dtype, b, n, h, d).transpose(1, 2);
    }

    /** Copies a [B, H, N, D] tensor into a [B, N, H, D] segment stored as dtype (exact: values are already rounded). */
    private static MemorySegment packed(Arena arena, Tensor t, DType dtype) {
        int b = t.dim(0), h = t.dim(1), n = t.dim(2), d = t.dim(3);
        MemorySegment s = arena.allocate((long) dtype.bytes() * t.size());
        for (int bi = 0; bi < b; bi++) for (int hi = 0; hi < h; hi++) for (int ni = 0; ni < n; ni++) for (int c = 0; c < d; c++) {
            float x = t.floats()[((bi * h + hi) * n + ni) * d + c];
            long at = ((long) (bi * n + ni) * h + hi) * d + c;
            switch (dtype) {
                case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, at, x);
                case BFLOAT16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, at, (short) (Float.floatToRawIntBits(x) >>> 16));
                default -> s.setAtIndex(ValueLayout.JAVA_SHORT, at, Float.floatToFloat16(x));
            }
        }
        return s;
    }

    @Test
    void concurrentCallsAgree() throws Exception {
        Pattern p = pattern("input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv] && q >= kv\n");
        JvmKernel kernel = new JvmBackend().compile(p);
        int[] ids = new int[300];
        for (int i = 0; i < ids.length; i++) ids[i] = i / 70;
        Map<String, Tensor> inputs = Map.of("doc", Tensor.ofInts(DType.INT32, new int[] {1, 300}, ids));
        List<Problem> problems = new ArrayList<>();
        for (int i = 0; i < 4; i++) problems.add(problem(DType.FLOAT32, 1, 4, 2, 300, 300, 64, inputs, i));
        List<Result> alone = problems.stream().map(kernel::forward).toList();
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            List<Future<Result>> together = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (Problem problem : problems) together.add(callers.submit((Callable<Result>) () -> kernel.forward(problem)));
            }
            // Same launch, same numbers up to the last ulp: a call may run while C2 is still
            // replacing the interpreter's Vector API fallbacks (exp, lane reductions), which round
            // differently; a shared-scratch race would be off by far more.
            for (int i = 0; i < together.size(); i++) {
                assertArrayEquals(alone.get(i % 4).out(), together.get(i).get().out(), 1e-6f, "call " + i);
            }
        } finally {
            callers.shutdown();
        }
        Agreement.check(Reference.run(p, problems.getFirst()), alone.getFirst(), "documents");
    }

    @Test
    void shapeErrorsAreClear() throws Exception {
        Pattern p = pattern("mask: q >= kv\n");
        Problem bad = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 3, 8, 16}, new Random(1)),
                Tensor.random(DType.FLOAT32, new int[] {1, 2, 8, 16}, new Random(2)), Tensor.random(DType.FLOAT32, new int[] {1, 2, 8, 16}, new Random(3)), Map.of());
        assertThrows(ShapeException.class, () -> new JvmBackend().compile(p).forward(bad));
    }

    /** The class as written to disk loads in an ordinary class loader of its own and computes the same as the hidden class. */
    @Test
    void generatedClassRunsFromAnotherClassLoader() throws Exception {
        Pattern p = pattern("mask: true\nscore: 2.0 * tanh(s / 2.0) - 0.01 * abs(q - kv)\n");
        var generated = JvmBackend.generate(attnc.lower.LowerPattern.lower(p), new attnc.jvm.emit.Tiling(32, 16));
        ClassLoader loader = new ClassLoader(getClass().getClassLoader()) {
            @Override
            protected Class<?> findClass(String name) throws ClassNotFoundException {
                if (!name.equals(generated.className())) throw new ClassNotFoundException(name);
                return defineClass(name, generated.bytes(), 0, generated.bytes().length);
            }
        };
        var kernel = (attnc.jvm.kernel.TileKernel) loader.loadClass(generated.className()).getConstructor().newInstance();
        assertEquals(32, kernel.tileQ());
        Problem problem = problem(DType.FLOAT32, 1, 2, 1, 50, 50, 24, Map.of(), 5);
        float[] out = new float[2 * 50 * 24], lse = new float[2 * 50];
        var binding = attnc.launch.Binding.of(p, problem);
        var launch = new attnc.jvm.kernel.Launch(
                attnc.jvm.kernel.Operand.Heap.dense(problem.q().floats(), 2, 50, 24),
                attnc.jvm.kernel.Operand.Heap.dense(problem.k().floats(), 1, 50, 24),
                attnc.jvm.kernel.Operand.Heap.dense(problem.v().floats(), 1, 50, 24),
                new OutputSink.Heap(out, 2 * 50 * 24, 50 * 24, 24), lse, generated.slots().env(binding, Map.of()),
                attnc.jvm.kernel.TileRows.allFull(4),
                1, 2, 1, 50, 50, 24, 24, binding.queryOffset());
        attnc.jvm.kernel.Driver.run(kernel, launch, attnc.jvm.kernel.Driver.Pool.shared());
        Agreement.check(Reference.run(p, problem), new Result(out, lse, null), "plain class");
    }

    @Test
    void generatedClassIsAPlainClassFile(@TempDir Path dir) throws Exception {
        var generated = JvmBackend.generate(attnc.lower.LowerPattern.lower(pattern("mask: q >= kv\n")), new attnc.jvm.emit.Tiling(64, 32));
        Path file = generated.writeTo(dir);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(0xCAFEBABE, ((bytes[0] & 0xff) << 24) | ((bytes[1] & 0xff) << 16) | ((bytes[2] & 0xff) << 8) | (bytes[3] & 0xff));
        assertEquals("attnc.jvm.kernel.Flash_t_64x32", generated.className());
    }

    @Test
    void aTileSectionIsHonouredOrRefusedWithWhatFits() throws Exception {
        JvmKernel tiled = new JvmBackend().compile(pattern("mask: q >= kv\ntile: q = " + 2 * Lanes.L + ", kv = 12\n"));
        Problem problem = problem(DType.FLOAT32, 1, 1, 1, 70, 70, 8, Map.of(), 3);
        Agreement.check(Reference.run(tiled.pattern(), problem), tiled.forward(problem), "tile section");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new JvmBackend().compile(pattern("mask: q >= kv\ntile: q = " + (Lanes.L + 1) + ", kv = 12\n")));
        assertTrue(e.getMessage().contains("multiple of " + Lanes.L), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new JvmBackend().compile(pattern("mask: q >= kv\ntile: q = " + Lanes.L + ", kv = 10\n")));
    }
}

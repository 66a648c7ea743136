package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Kernels over the caller's memory: views in place, output into the caller's buffer, the caller's threads. */
class CallerMemoryTest {
    private static final Pattern CAUSAL = pattern("mask: q >= kv\n");

    private static Pattern pattern(String text) {
        try {
            return Passes.optimize(Frontend.compile("t.attn", text), Map.of());
        } catch (attnc.front.CompileException e) {
            throw new AssertionError(e);
        }
    }

    /** A [B, N, H, D] bf16 segment with random values, seen as [B, H, N, D]. */
    private static Tensor bnhd(MemorySegment segment, Random random, int b, int n, int h, int d) {
        for (long i = 0; i < segment.byteSize() / 2; i++) {
            segment.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i, Tensor.bfloat16Bits(random.nextFloat() * 2 - 1));
        }
        return Tensor.wrap(segment, DType.BFLOAT16, b, n, h, d).transpose(1, 2);
    }

    /**
     * The launch path reads Q, K, V where they are and writes rows straight into the caller's
     * segment. Counted on the one thread that does all the work, a warmed-up launch allocates
     * bookkeeping (binding, tile analysis, a few hundred bytes per tile the kernel visits: tens of
     * KiB here, independent of D), never an array of the output's size or a converted copy of an
     * input (2 MiB each here, 1 MiB for a bf16 copy). Until C2
     * has compiled the kernel, interpreted Vector API code allocates its vectors, so the launch is
     * repeated until two in a row stay under the bound before the one that counts. The build runs
     * this class twice, the second time with -XX:TypeProfileWidth=0 (see the module's pom): C2
     * then inlines no vector call on a profile's word, as in a kernel compiled after it ran
     * unprofiled, which a busy machine makes now and then.
     */
    @Test
    void segmentViewsInAndOutAllocateNoIntermediateArray() {
        int b = 1, h = 16, n = 256, d = 128;
        long outputBytes = 4L * b * h * n * d, bound = outputBytes / 4;
        var allocation = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        JvmKernel kernel = new JvmBackend().compile(CAUSAL).withExecutor(Runnable::run, 1);
        Random random = new Random(3);
        // A confined arena is fine for a kernel that stays on its caller's thread.
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = bnhd(arena.allocate(2L * b * n * h * d), random, b, n, h, d);
            Tensor k = bnhd(arena.allocate(2L * b * n * h * d), random, b, n, h, d);
            Tensor v = bnhd(arena.allocate(2L * b * n * h * d), random, b, n, h, d);
            Tensor out = Tensor.wrap(arena.allocate(outputBytes), DType.FLOAT32, b, n, h, d).transpose(1, 2);
            float[] lseRows = new float[b * h * n];
            Tensor lse = Tensor.wrap(lseRows, b, h, n);
            Problem problem = new Problem(q, k, v, Map.of());
            for (int launches = 0, under = 0; under < 2 && launches < 200; launches++) {
                long before = allocation.getCurrentThreadAllocatedBytes();
                kernel.forward(problem, out, lse);
                under = allocation.getCurrentThreadAllocatedBytes() - before < bound ? under + 1 : 0;
            }

            // The fewest bytes of five launches: a launch that meets a JIT recompilation (the machine's load decides when) allocates for it.
            long allocated = Long.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long before = allocation.getCurrentThreadAllocatedBytes();
                kernel.forward(problem, out, lse);
                allocated = Math.min(allocated, allocation.getCurrentThreadAllocatedBytes() - before);
            }

            System.out.printf("zero-copy launch: %d bytes allocated on the launching thread (output %d bytes)%n", allocated, outputBytes);
            assertTrue(allocated < bound, "allocated " + allocated + " bytes in one launch; an intermediate array would be " + outputBytes);
            Agreement.check(Reference.run(CAUSAL, problem), new Result(out.floats(), lseRows, null), "bf16 [B, N, H, D] segments into an fp32 segment");
        }
    }

    @Test
    void bf16OutputIntoAShortBufferIsRounded() {
        Random random = new Random(5);
        int b = 1, h = 2, n = 70, d = 32;
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {b, h, n, d}, random),
                Tensor.random(DType.FLOAT32, new int[] {b, h, n, d}, random), Tensor.random(DType.FLOAT32, new int[] {b, h, n, d}, random), Map.of());
        ShortBuffer buffer = ByteBuffer.allocateDirect(2 * b * h * n * d).order(ByteOrder.nativeOrder()).asShortBuffer();
        Tensor out = Tensor.wrap(buffer, DType.BFLOAT16, b, h, n, d);
        new JvmBackend().compile(CAUSAL).forward(problem, out, null);
        Result fp32 = new JvmBackend().compile(CAUSAL).forward(problem);
        for (int i = 0; i < fp32.out().length; i++) {
            assertEquals(Tensor.bfloat16(fp32.out()[i]), Float.intBitsToFloat(buffer.get(i) << 16), "element " + i + " is the fp32 output rounded to bf16");
        }
    }

    @Test
    void outputsAreCheckedBeforeAnyWork() {
        Random random = new Random(7);
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 2, 8, 16}, random),
                Tensor.random(DType.FLOAT32, new int[] {1, 2, 8, 16}, random), Tensor.random(DType.FLOAT32, new int[] {1, 2, 8, 16}, random), Map.of());
        JvmKernel kernel = new JvmBackend().compile(CAUSAL);
        float[] data = new float[2 * 8 * 16];
        var wrongShape = assertThrows(ShapeException.class, () -> kernel.forward(problem, Tensor.wrap(data, 1, 8, 2, 16), null));
        assertEquals("out: expected shape [1, 2, 8, 16] [B, H, Nq, Dv], got [1, 8, 2, 16]", wrongShape.getMessage());
        var readOnly = assertThrows(ShapeException.class, () -> kernel.forward(problem,
                Tensor.wrap(MemorySegment.ofArray(data).asReadOnly(), DType.FLOAT32, 1, 2, 8, 16), null));
        assertTrue(readOnly.getMessage().startsWith("out: the segment is read-only"), readOnly.getMessage());
        Pattern sigmoid = pattern("mask: true\nnorm: sigmoid(bias = 0.0)\n");
        var noLse = assertThrows(ShapeException.class, () -> new JvmBackend().compile(sigmoid).forward(problem,
                Tensor.wrap(data, 1, 2, 8, 16), Tensor.wrap(new float[16], 1, 2, 8)));
        assertTrue(noLse.getMessage().contains("has norm sigmoid, which has no log-sum-exp"), noLse.getMessage());
        for (float x : data) assertEquals(0f, x, "nothing was written");
    }

    @Test
    void aConfinedSegmentIsRefusedForAPooledKernel() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.wrap(arena.allocate(4L * 2 * 8 * 16), DType.FLOAT32, 1, 2, 8, 16);
            Problem problem = new Problem(q, q, q, Map.of());
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new JvmBackend().compile(CAUSAL).withExecutor(Executors.newVirtualThreadPerTaskExecutor(), 4).forward(problem));
            assertTrue(e.getMessage().startsWith("q: the segment is confined to one thread"), e.getMessage());
        }
    }

    /**
     * Callers and helpers on one small pool: every caller waits only for items helpers have taken,
     * so launches finish even when no helper task ever gets a thread.
     */
    @Test
    void callersSharingTheKernelsExecutorDoNotDeadlock() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            JvmKernel kernel = new JvmBackend().compile(CAUSAL).withExecutor(pool, 8);
            Random random = new Random(9);
            int[] shape = {1, 4, 300, 32};
            Problem problem = new Problem(Tensor.random(DType.FLOAT32, shape, random), Tensor.random(DType.FLOAT32, shape, random),
                    Tensor.random(DType.FLOAT32, shape, random), Map.of());
            List<Future<Result>> calls = new ArrayList<>();
            for (int i = 0; i < 6; i++) calls.add(pool.submit(() -> kernel.forward(problem)));
            Reference.Exact expected = Reference.run(CAUSAL, problem);
            for (Future<Result> call : calls) Agreement.check(expected, call.get(60, TimeUnit.SECONDS), "on the callers' pool");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aClosedKernelRefusesLaunches() {
        JvmKernel kernel = new JvmBackend().compile(CAUSAL);
        kernel.close();
        Tensor t = Tensor.random(DType.FLOAT32, new int[] {1, 1, 4, 8}, new Random(1));
        var e = assertThrows(IllegalStateException.class, () -> kernel.forward(new Problem(t, t, t, Map.of())));
        assertEquals("kernel for pattern 't' is closed", e.getMessage());
    }
}

package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Schedule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every pattern's PTX is accepted by ptxas for sm_80 and sm_90 (no GPU needed) without a
 * performance warning, and is deterministic.
 */
class PtxAssemblesTest {
    static final String PTXAS = System.getProperty("attnc.ptxas", "/usr/local/bin/ptxas");

    @TestFactory
    List<DynamicTest> everyPatternAssembles() {
        List<DynamicTest> tests = new ArrayList<>();
        record Target(int sm, DType dtype, int headDim) {}
        // sm_90 targets get the wgmma path (D = 96 with a partial 64-column chunk), sm_80 the mma.sync one
        // (D = 96 and 160: rows of 12 and 20 chunks copied by 16 and 32 lanes).
        List<Target> targets = List.of(new Target(80, DType.BFLOAT16, 64), new Target(90, DType.BFLOAT16, 128), new Target(90, DType.FLOAT16, 64),
                new Target(90, DType.BFLOAT16, 96), new Target(80, DType.BFLOAT16, 96), new Target(80, DType.FLOAT16, 160));
        List<Path> files = Patterns.files();
        // Each pattern on one target, the targets taken in turn: ~40 patterns spread every target
        // over many masks at a third of the ptxas time (the test budget); the tilings have their own test.
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            Target t = targets.get(i % targets.size());
            tests.add(DynamicTest.dynamicTest(file.getFileName() + " sm_" + t.sm() + " " + t.dtype() + " D=" + t.headDim(), () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                pattern = Passes.optimize(pattern, Map.of());
                LoweredPattern lowered = LowerPattern.lower(pattern);
                PtxModule module = PtxModule.render(lowered, KernelConfig.of(lowered, t.sm(), t.dtype(), t.headDim(), t.headDim()));
                assemble(module.text(), t.sm());
            }));
        }
        return tests;
    }

    /**
     * Two consumer warpgroups with their own bits in the lists (the knob {@code group_bits}, not a
     * default): the skipping loop at D = 128 and 256, both overlapped schedules, assembled without a
     * performance warning (a serialized wgmma).
     */
    @Test
    void twoWarpgroupsWithTheirBitsAssemble() throws Exception {
        List<String> texts = new ArrayList<>();
        for (String name : List.of("causal", "sliding_window", "alibi")) {
            LoweredPattern lowered = LowerPattern.lower(Passes.optimize(Patterns.compile(Path.of("../../examples/" + name + ".attn")), Map.of()));
            for (int[] tiling : new int[][] {{128, 128}, {256, 64}}) {
                for (Schedule schedule : List.of(Schedule.WGMMA_OVERLAP, Schedule.WGMMA_PINGPONG)) {
                    KernelConfig config = KernelConfig.of(lowered, 90, DType.BFLOAT16, tiling[0], tiling[0])
                            .withWgmma(schedule, 2, tiling[1], 2).withGroupBits(true);
                    assertEquals(2, config.listGroups(), config.tag());
                    String text = PtxModule.render(lowered, config).text();
                    assertTrue(text.contains("tile_hidden"), config.tag() + " skips hidden tiles");
                    texts.add(text);
                }
            }
        }
        assembleAll(texts, 90);
    }

    @Test
    void sameInputSameText() throws Exception {
        for (Path file : Patterns.files()) {
            Pattern pattern = Patterns.compile(file);
            if (pattern == null) continue;
            KernelConfig config = KernelConfig.of(80, DType.BFLOAT16, 64, 64);
            String first = PtxModule.render(LowerPattern.lower(pattern), config).text();
            String second = PtxModule.render(LowerPattern.lower(Patterns.compile(file)), config).text();
            assertEquals(first, second, file.toString());
            assertTrue(first.chars().allMatch(c -> c < 128), "PTX is ASCII");
        }
    }

    /** Assembles every text, two ptxas processes at a time. */
    static void assembleAll(java.util.Collection<String> texts, int sm) throws Exception {
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (String text : texts) done.add(pool.submit(() -> { assemble(text, sm); return null; }));
            for (var f : done) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof AssertionError a) throw a;
                    throw e;
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static void assemble(String ptx, int sm) throws IOException, InterruptedException {
        // wgmma and setmaxnreg exist only on the architecture-specific target.
        assemble(ptx, "sm_" + sm + (ptx.contains(".target sm_" + sm + "a") ? "a" : ""));
    }

    /** Assembles for {@code arch} (sm_90a takes PTX written for sm_90 too). */
    static void assemble(String ptx, String arch) throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of(PTXAS))) fail("ptxas not found at " + PTXAS + " (set -Dattnc.ptxas=...)");
        Path file = Files.createTempFile("attnc", ".ptx");
        try {
            Files.writeString(file, ptx);
            Process process = new ProcessBuilder(PTXAS, "-arch=" + arch, file.toString(), "-o", "/dev/null").redirectErrorStream(true).start();
            String log = new String(process.getInputStream().readAllBytes());
            assertTrue(process.waitFor(120, TimeUnit.SECONDS), "ptxas timed out");
            assertEquals(0, process.exitValue(), "ptxas rejected the PTX:\n" + log);
            // ptxas still assembles wgmma it must serialize (C7520: a wgmma issued on some paths only); that kernel ran a fifth slower.
            assertFalse(log.contains("Performance Loss"), "ptxas warns:\n" + log);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}

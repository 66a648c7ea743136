package attnc.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.reference.Reference;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import attnc.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TunerTest {
    /** A backend whose configurations differ only in how slow (or how wrong) they are. */
    private static final class FakeBackend implements Backend {
        @Override public String name() { return "fake"; }

        @Override public Kernel compile(Pattern pattern) { return kernel(pattern, 40, false); }

        @Override
        public List<TuningConfig> configurations(Pattern pattern, Binding binding) {
            // Tens of milliseconds apart: the reference each call also runs, and a loaded machine, move a few.
            return List.of(TuningConfig.parse("sleep=80"), TuningConfig.parse("sleep=40"), TuningConfig.parse("sleep=10"),
                    TuningConfig.parse("sleep=0,wrong=1"));
        }

        @Override
        public java.util.Optional<TuningConfig> defaultConfiguration(Pattern pattern, Binding binding) {
            return java.util.Optional.of(TuningConfig.parse("sleep=40"));
        }

        @Override
        public Kernel compile(Pattern pattern, TuningConfig config) {
            return kernel(pattern, config.get("sleep", 0), config.get("wrong", 0) == 1);
        }

        private static Kernel kernel(Pattern pattern, int sleepMillis, boolean wrong) {
            return new Kernel() {
                @Override public Pattern pattern() { return pattern; }

                @Override
                public Result forward(Problem problem) {
                    try {
                        Thread.sleep(sleepMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Result exact = Reference.run(pattern, problem).toResult();
                    if (wrong) exact.out()[0] += 0.5f;
                    return exact;
                }
            };
        }
    }

    @Test
    void picksTheFastestCorrectConfigurationAndRejectsWrongOnes() throws Exception {
        Pattern pattern = Frontend.compile("causal", "mask: q >= kv\n");
        Random random = new Random(3);
        int[] shape = {1, 1, 16, 8};
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Tuner tuner = new Tuner(new FakeBackend(), pattern, () -> new Problem(Tensor.random(DType.FLOAT32, shape, random),
                Tensor.random(DType.FLOAT32, shape, random), Tensor.random(DType.FLOAT32, shape, random), Map.of()),
                new PrintStream(progress), 1, 3);
        Tuner.Outcome outcome = tuner.tune();
        assertEquals(TuningConfig.parse("sleep=10"), outcome.best());
        assertTrue(outcome.speedup() > 1.5, "default sleeps 40 ms, best 10 ms: " + outcome);
        Tuner.Trial wrong = outcome.trials().get(2);
        assertNotNull(wrong.rejected());
        assertTrue(wrong.rejected().contains("differs"), wrong.rejected());
        assertNull(outcome.trials().get(1).rejected());
        // The default and the two correct candidates, each warmed up once and timed in 3 rounds: 3 * (1 + 3) steps.
        assertTrue(progress.toString().contains("12/12"), "the default (sleep=40) is not timed again as a candidate: " + progress);
        assertEquals(3, outcome.trials().size());
    }

    /** A kernel that counts its timed runs and the order of calls, to see the rounds interleave. */
    @Test
    void theDefaultAndTheCandidatesAreTimedInInterleavedRounds() throws Exception {
        Pattern pattern = Frontend.compile("causal", "mask: q >= kv\n");
        List<String> calls = new java.util.ArrayList<>();
        Backend backend = new Backend() {
            @Override public String name() { return "order"; }
            @Override public Kernel compile(Pattern p) { return counting(p, "default"); }
            @Override public List<TuningConfig> configurations(Pattern p, Binding b) { return List.of(TuningConfig.parse("n=1"), TuningConfig.parse("n=2")); }
            @Override public Kernel compile(Pattern p, TuningConfig config) { return counting(p, config.toString()); }

            private Kernel counting(Pattern p, String name) {
                return new Kernel() {
                    @Override public Pattern pattern() { return p; }
                    @Override public Result forward(Problem problem) { return Reference.run(p, problem).toResult(); }
                    @Override
                    public double medianMillis(java.util.function.Supplier<Problem> fresh, int warmups, int repeats) {
                        calls.add(name + (warmups > 0 ? " warm" : ""));
                        return name.equals("n=2") ? 1 : 2;
                    }
                };
            }
        };
        Random random = new Random(3);
        int[] shape = {1, 1, 4, 4};
        Tuner tuner = new Tuner(backend, pattern, () -> new Problem(Tensor.random(DType.FLOAT32, shape, random),
                Tensor.random(DType.FLOAT32, shape, random), Tensor.random(DType.FLOAT32, shape, random), Map.of()),
                new PrintStream(new ByteArrayOutputStream()), 2, 2);
        Tuner.Outcome outcome = tuner.tune();
        assertEquals(List.of("default warm", "n=1 warm", "n=2 warm", "default", "n=1", "n=2", "n=1", "n=2", "default"), calls);
        assertEquals(TuningConfig.parse("n=2"), outcome.best());
        assertEquals(2.0, outcome.defaultMillis());
    }
}

package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code attnc run --kv-lengths ...}: ragged launches over a paged cache, checked per sequence; mistakes in one line. */
class RaggedRunTest {
    private static String example(String name) {
        return Cli.EXAMPLES.resolve(name + ".attn").toString();
    }

    @Test
    void aRaggedSplitLaunchMatchesEachSequencesDenseLaunch() {
        Cli cli = Cli.run("run", example("sinks_window"), "--shape", "1,4,1,1,16", "--heads-kv", "2", "--kv-lengths", "70,0,33,5",
                "--q-lengths", "3,1,0,5", "--page-size", "8", "--split-kv", "3", "--repeat", "1", "--warmup", "0");
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("ragged    4 sequences, q lengths [3, 1, 0, 5], kv lengths [70, 0, 33, 5], H=4 Hkv=2 D=16"), cli.transcript());
        assertTrue(cli.out().contains("cache     15 pages of 8 positions, in shuffled order; split-kv 3"), cli.transcript());
        assertTrue(cli.out().contains("GB/s of K and V read"), cli.transcript());
        assertTrue(cli.out().contains("\nok        within"), cli.transcript());
    }

    @Test
    void decodeByDefaultOnEveryBackendWithRaggedLaunches() {
        for (String backend : new String[] {"jvm", "reference"}) {
            Cli cli = Cli.run("run", example("document"), "--backend", backend, "--shape", "1,2,1,1,8", "--kv-lengths", "17,1",
                    "--repeat", "1", "--warmup", "0");
            assertEquals(0, cli.exitCode(), cli.transcript());
            assertTrue(cli.out().contains("q lengths [1, 1]"), cli.transcript());
            assertTrue(cli.out().contains("split-kv chosen by the backend"), cli.transcript());
        }
    }

    @Test
    void aLatentCacheRunsWithVTheViewOfKsFirstColumns() {
        for (String backend : new String[] {"jvm", "reference"}) {
            Cli cli = Cli.run("run", example("causal"), "--backend", backend, "--shape", "1,8,1,1,64", "--heads-kv", "1", "--kv-lengths", "70,5",
                    "--latent", "32", "--repeat", "1", "--warmup", "0");
            assertEquals(0, cli.exitCode(), cli.transcript());
            assertTrue(cli.out().contains("H=8 Hkv=1 D=64 Dv=32"), cli.transcript());
            assertTrue(cli.out().contains("V within K's rows"), cli.transcript());
            assertTrue(cli.out().contains("\nok        within"), cli.transcript());
        }
    }

    @Test
    void badValuesAreOneLine() {
        String file = example("causal");
        refused("--page-size must be a power of two from 1 to 256, got 12", "run", file, "--kv-lengths", "4", "--page-size", "12");
        refused("--split-kv must be from 1 to 4096, got 0", "run", file, "--kv-lengths", "4", "--split-kv", "0");
        refused("--q-lengths: expected 2 lengths, one per --kv-lengths entry, got 1", "run", file, "--kv-lengths", "4,5", "--q-lengths", "2");
        refused("--page-size needs --kv-lengths (the keys of each sequence of a ragged launch)", "run", file, "--page-size", "16");
        refused("--latent 80: expected 1 to D = 64 (V is K's first DV columns)", "run", file, "--shape", "1,2,1,1,64", "--kv-lengths", "4", "--latent", "80");
        refused("--latent 0: expected 1 to D = 64 (V is K's first DV columns)", "run", file, "--shape", "1,2,4,8,64", "--latent", "0");
        refused("--latent does not apply to --inputs (v.npy is read as it is)", "run", file, "--inputs", "no-such-folder", "--latent", "8");
        usage("expected lengths >= 0, got -3 in '4,-3'", "run", file, "--kv-lengths", "4,-3");
        usage("expected comma-separated lengths (integers >= 0), got 'x' in '4,x'", "run", file, "--kv-lengths", "4,x");
        refused("--grad does not apply to a ragged launch (--kv-lengths)", "run", file, "--kv-lengths", "4", "--grad");
        refused("--offset does not apply to a ragged launch (--kv-lengths); each sequence's first query sits at its Nkv - Nq", "run", file, "--kv-lengths", "4", "--offset", "2");
    }

    /** A user error: exit 1 and one line. */
    private static void refused(String message, String... args) {
        Cli cli = Cli.run(args);
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertEquals("attnc: " + message, cli.err().strip(), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }

    /** A value picocli could not convert: exit 2, the reason on the first line (picocli's usage follows). */
    private static void usage(String message, String... args) {
        Cli cli = Cli.run(args);
        assertEquals(2, cli.exitCode(), cli.transcript());
        assertTrue(cli.err().lines().findFirst().orElse("").contains(message), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }
}

package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.Printer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code attnc run} with a backend other than the reference: compile-time params, errors, tolerance, NaN. */
class BackendComparisonTest {
    @TempDir
    Path temp;

    private static String example(String name) {
        return Cli.EXAMPLES.resolve(name + ".attn").toString();
    }

    @Test
    void paramsStayLaunchTimeUnlessFolded() {
        Cli launch = Cli.run("run", example("sliding_window"), "--shape", "1,2,70,70,16", "--backend", "test-honest", "--param", "window=8");
        assertEquals(0, launch.exitCode(), launch.transcript());
        assertEquals("q >= kv && q - kv < window", Printer.expr(TestBackends.Honest.lastCompiled.mask()));
        assertTrue(launch.out().contains("window=8 (launch time)"), launch.transcript());

        Cli folded = Cli.run("run", example("sliding_window"), "--shape", "1,2,70,70,16", "--backend", "test-honest", "--param", "window=8", "--fold");
        assertEquals(0, folded.exitCode(), folded.transcript());
        assertEquals("q >= kv && q - kv < 8", Printer.expr(TestBackends.Honest.lastCompiled.mask()));
        assertTrue(TestBackends.Honest.lastCompiled.params().isEmpty());
        assertTrue(folded.out().contains("window=8 (folded at compile time: --fold)"), folded.transcript());
        assertTrue(folded.out().contains("ok        within tolerance 1e-04 relative"), folded.transcript());
    }

    @Test
    void anHonestBackendIsWithinTolerance() {
        Cli cli = Cli.run("run", example("softmax_sink"), "--shape", "1,2,70,70,16", "--backend", "test-honest");
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("error     max abs "), cli.transcript());
        assertTrue(cli.out().contains("lse max rel "), cli.transcript());
    }

    @Test
    void aWrongBackendFails() {
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,2,70,70,16", "--backend", "test-off");
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("max abs 0.0100"), cli.transcript());
        assertTrue(cli.out().contains("FAILED    outside tolerance"), cli.transcript());
    }

    @Test
    void nanNeverPasses() throws Exception {
        // log of a negative score is NaN, and softmax spreads it over the whole row.
        Path file = temp.resolve("nan.attn");
        Files.writeString(file, "mask: true\nscore: log(s)\n");
        for (String backend : new String[] {"reference", "test-honest"}) {
            Cli cli = Cli.run("run", file.toString(), "--shape", "1,1,8,8,4", "--backend", backend);
            assertEquals(1, cli.exitCode(), cli.transcript());
            assertTrue(cli.out().contains("FAILED    the output has NaN at [0, 0, 0, 0] [b, h, q, d]"), cli.transcript());
            assertFalse(cli.showsStackTrace(), cli.transcript());
        }
    }
}

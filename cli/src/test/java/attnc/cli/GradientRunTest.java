package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code attnc run FILE --grad}: a line per gradient, the exit code, and a backend without a backward refused up front. */
class GradientRunTest {
    private static String example(String name) {
        return Cli.EXAMPLES.resolve(name + ".attn").toString();
    }

    @Test
    void printsEveryGradientWithItsErrorAndPasses() {
        Cli cli = Cli.run("run", example("alibi"), "--shape", "1,2,70,90,16", "--grad", "--repeat", "1");
        assertEquals(0, cli.exitCode(), cli.transcript());
        for (String gradient : List.of("dq", "dk", "dv", "slopes")) {
            assertTrue(cli.out().lines().anyMatch(l -> l.startsWith("grad " + gradient + " ") && l.contains("relative L2 ") && l.contains("max abs ")
                    && l.endsWith(": ok")), gradient + "\n" + cli.transcript());
        }
        assertTrue(cli.out().contains("sqrt(T = "), "an input's tolerance says how it is scaled\n" + cli.transcript());
        assertTrue(cli.out().contains("ok        gradients within tolerance"), cli.transcript());
    }

    @Test
    void aWrongGradientFails() {
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,2,40,40,16", "--grad", "--backend", "test-bad-grad", "--repeat", "1");
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().lines().anyMatch(l -> l.startsWith("grad dk ") && l.endsWith(": FAILED")), cli.transcript());
        assertTrue(cli.out().lines().anyMatch(l -> l.startsWith("grad dq ") && l.endsWith(": ok")), cli.transcript());
        assertTrue(cli.out().contains("FAILED    gradients outside tolerance"), cli.transcript());
    }

    @Test
    void theDeterministicBackwardRunsTwiceAndItsBitsAgree() {
        Cli cli = Cli.run("run", example("alibi"), "--shape", "1,2,70,90,16", "--grad", "--deterministic", "--repeat", "1");
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("every gradient, deterministic") && cli.out().contains("ok        every gradient bitwise the same over 2 runs"),
                cli.transcript());
    }

    @Test
    void aDeterministicBackwardWhoseRunsDifferFails() {
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,2,40,40,16", "--grad", "--deterministic", "--backend", "test-bad-grad", "--repeat", "3");
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("FAILED    runs differ: dv[0]: "), cli.transcript());
    }

    @Test
    void deterministicWithoutGradIsRefused() {
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,2,40,40,16", "--deterministic");
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertEquals("attnc: --deterministic applies to the backward pass: add --grad", cli.err().strip(), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }

    @Test
    void aBackendWithoutABackwardIsRefusedBeforeAnyWork() {
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,2,40,40,16", "--grad", "--backend", "test-honest");
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.err().startsWith("attnc: --grad: backend 'test-honest' has no backward pass; backends with one: "), cli.transcript());
        assertTrue(cli.err().contains("jvm") && cli.err().contains("reference"), cli.transcript());
        assertFalse(cli.out().contains("backend   "), "nothing ran\n" + cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }
}

package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckAndExplainTest {
    @TempDir
    Path temp;

    @Test
    void checkReportsEveryBadFileAndStillChecksTheRest() throws Exception {
        Path bad = temp.resolve("bad.attn");
        Files.writeString(bad, "param window: int = 8\nmask: q >= kv && q - kv < windw\n");
        Path good = Cli.EXAMPLES.resolve("causal.attn");
        Cli cli = Cli.run("check", bad.toString(), good.toString());
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertEquals(good + ": ok\n", cli.out().replace("\r", ""), cli.transcript());
        assertTrue(cli.err().startsWith(bad + ":2:27: error: unknown name 'windw'; did you mean 'window'?"), cli.transcript());
        assertTrue(cli.err().contains("^^^^^"), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }

    @Test
    void checkOfAMissingFileFails() {
        Cli cli = Cli.run("check", temp.resolve("absent.attn").toString());
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.err().contains("cannot read file"), cli.transcript());
    }

    @Test
    void explainFoldsCompileTimeParamsAndListsDeclarations() {
        Cli cli = Cli.run("explain", Cli.EXAMPLES.resolve("softmax_sink.attn").toString(), "--param", "window=32");
        assertEquals(0, cli.exitCode(), cli.transcript());
        String out = cli.out().replace("\r", "");
        assertTrue(out.contains("  window: int = 32 (fixed at compile time)  -- Causal window of keys."), out);
        assertTrue(out.contains("  sinks: float32[H]  -- Sink logit of each head."), out);
        assertTrue(out.contains("IR after passes (folded: window=32):\n"), out);
        assertTrue(out.contains("  mask: q >= kv && q - kv < 32\n"), out);
        assertTrue(out.contains("  norm: softmax(sink = sinks[h])\n"), out);
        assertTrue(out.contains("block sparsity (B=2, H=2, N=1024"), out);
        assertTrue(out.contains("classification exact"), out);
    }

    @Test
    void explainWithoutParamsKeepsThemSymbolic() {
        Cli cli = Cli.run("explain", Cli.EXAMPLES.resolve("sliding_window.attn").toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("window: int = 1024 (default; settable at launch)"), cli.transcript());
        assertTrue(cli.out().contains("  mask: q >= kv && q - kv < window\n"), cli.transcript());
    }

    @Test
    void explainOfABadFileShowsDiagnostics() throws Exception {
        Path bad = temp.resolve("bad.attn");
        Files.writeString(bad, "mask: q >= kv\nscore: s + o\n");
        Cli cli = Cli.run("explain", bad.toString());
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.err().contains(bad + ":2:12: error: the output o is not available in the score section"), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }
}

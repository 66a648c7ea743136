package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.tensor.Npy;
import attnc.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {
    @TempDir
    Path temp;

    private static String example(String name) {
        return Cli.EXAMPLES.resolve(name + ".attn").toString();
    }

    @Test
    void countsTheVisiblePairsExactly() {
        // Causal, 2 heads of 70 queries: 2 * 70 * 71 / 2 = 4970 of 9800 pairs; FLOPs 4 * D per visible pair.
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,2,70,70,16");
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("visible   50.71% of 9800 "), cli.transcript());
        assertTrue(cli.out().contains("= 3.181e+05 FLOP"), cli.transcript());
    }

    @Test
    void groupedQueryAttentionRuns() throws Exception {
        Cli cli = Cli.run("run", example("nsa_shared_selection"), "--shape", "1,4,70,70,16", "--heads-kv", "2", "--size", "TopK=2",
                "--save", temp.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("H=4 Hkv=2"), cli.transcript());
        assertEquals("[1, 2, 2, 2]", Npy.read(temp.resolve("sel.npy")).shapeText());
        assertEquals("[1, 2, 70, 16]", Npy.read(temp.resolve("k.npy")).shapeText());
    }

    @Test
    void aLatentCacheReadsVFromKsFirstColumns() throws Exception {
        Cli cli = Cli.run("run", example("causal"), "--shape", "2,8,1,300,64", "--heads-kv", "1", "--latent", "32", "--save", temp.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("D=64 Dv=32"), cli.transcript());
        // 2 * 8 heads * 300 keys, all visible to the last query: 2 * (64 + 32) FLOPs a pair.
        assertTrue(cli.out().contains("= 9.216e+05 FLOP"), cli.transcript());
        assertTrue(cli.out().contains("\nok        within"), cli.transcript());
        assertEquals("[2, 1, 300, 32]", Npy.read(temp.resolve("v.npy")).shapeText());
    }

    @Test
    void aShortQueryBlockSitsAtTheEndOfTheKeys() {
        Cli cli = Cli.run("run", example("causal"), "--shape", "1,1,5,70,16");
        assertEquals(0, cli.exitCode(), cli.transcript());
        // Queries 65..69 each see 66..70 keys: 340 of 350.
        assertTrue(cli.out().contains("query offset 65"), cli.transcript());
        assertTrue(cli.out().contains("visible   97.14% of 350 "), cli.transcript());
    }

    @Test
    void savedTensorsRunAgainFromInputs() throws Exception {
        Path first = temp.resolve("first"), second = temp.resolve("second");
        Cli save = Cli.run("run", example("document"), "--shape", "1,2,70,70,16", "--dtype", "bfloat16", "--save", first.toString());
        assertEquals(0, save.exitCode(), save.transcript());
        Cli again = Cli.run("run", example("document"), "--inputs", first.toString(), "--save", second.toString());
        assertEquals(0, again.exitCode(), again.transcript());
        assertTrue(again.out().contains("read from --inputs"), again.transcript());
        assertArrayEquals(Npy.read(first.resolve("out.npy")).floats(), Npy.read(second.resolve("out.npy")).floats());
        assertArrayEquals(Npy.read(first.resolve("lse.npy")).floats(), Npy.read(second.resolve("lse.npy")).floats());
    }

    @Test
    void aWronglyShapedInputIsReportedWithoutAStackTrace() throws Exception {
        Cli save = Cli.run("run", example("document"), "--shape", "1,2,70,70,16", "--save", temp.toString());
        assertEquals(0, save.exitCode(), save.transcript());
        Npy.write(temp.resolve("doc.npy"), Tensor.ofInts(DType.INT32, new int[] {1, 69}, new int[69]));
        Cli cli = Cli.run("run", example("document"), "--inputs", temp.toString());
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertEquals("attnc: input 'doc': expected shape [1, 70] [B, Nkv], got [1, 69]\n", cli.err().replace("\r", ""), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }

    @Test
    void aMissingInputFileNamesWhatIsExpected() throws Exception {
        Files.createDirectories(temp);
        Cli cli = Cli.run("run", example("document"), "--inputs", temp.toString());
        assertEquals(1, cli.exitCode(), cli.transcript());
        assertTrue(cli.err().contains("missing q.npy; expected q.npy, k.npy, v.npy and doc.npy"), cli.transcript());
        assertFalse(cli.showsStackTrace(), cli.transcript());
    }

    @Test
    void launchParamsChangeTheResult() {
        Cli narrow = Cli.run("run", example("sliding_window"), "--shape", "1,1,70,70,16", "--param", "window=16");
        assertEquals(0, narrow.exitCode(), narrow.transcript());
        // sum over q of min(q + 1, 16) = 136 + 54 * 16 = 1000 of 4900.
        assertTrue(narrow.out().contains("visible   20.41% of 4900 "), narrow.transcript());
        assertTrue(narrow.out().contains("window=16 (launch time)"), narrow.transcript());
    }

    @Test
    void userErrorsExitWithOneAndAMessage() {
        String[][] cases = {
                {"run", example("causal"), "--backend", "nope"},
                {"run", example("sliding_window"), "--param", "widow=3"},
                {"run", example("sliding_window"), "--param", "window=1.5"},
                {"run", example("causal"), "--shape", "1,4,70,70,16", "--heads-kv", "3"},
                {"run", Cli.EXAMPLES.resolve("lib/masks.attn").toString()},
                {"run", "no/such/file.attn"},
                {"plot", example("causal"), "--n", "0", "-o", "x.png"},
        };
        for (String[] args : cases) {
            Cli cli = Cli.run(args);
            assertEquals(1, cli.exitCode(), String.join(" ", args) + "\n" + cli.transcript());
            assertFalse(cli.err().isBlank(), cli.transcript());
            assertFalse(cli.showsStackTrace(), cli.transcript());
        }
    }

    @Test
    void usageErrorsExitWithTwo() {
        for (String[] args : new String[][] {{"run"}, {"run", example("causal"), "--shape", "1,2,3"}, {"run", example("causal"), "--dtype", "int8"}, {"frobnicate"}}) {
            Cli cli = Cli.run(args);
            assertEquals(2, cli.exitCode(), String.join(" ", args) + "\n" + cli.transcript());
            assertFalse(cli.showsStackTrace(), cli.transcript());
        }
    }
}

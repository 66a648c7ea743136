package attnc.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.Pattern;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated {@code __init__.py} of torch packages: the signature of {@code attention} (inputs
 * positional, params keyword-only with their defaults), docstrings from the pattern's comments,
 * what the runtime is told (input shapes, gradients, symbolic sizes, whether the mask reads
 * inputs), {@code ragged_prefill}'s signature, and that Python compiles it, for patterns whose
 * comments hold quotes and backslashes. Which inputs get gradients comes from the exported
 * backward; here it is given.
 */
class TorchInitTest {
    private static final Path EXAMPLES = Path.of(System.getProperty("basedir", ".")).resolve("../examples").toAbsolutePath().normalize();

    @Test
    void alibiTakesItsSlopesPositionallyAndDocumentsTheirGradient(@TempDir Path dir) throws Exception {
        String init = generate(example("alibi"), List.of("slopes"), true);
        assertTrue(init.contains("\ndef attention(q, k, v, slopes, *, return_lse=False):\n"), init);
        assertTrue(init.contains("slopes (torch.Tensor): float32 [H] (other float dtypes are converted). Slope of each head. Gets a gradient"), init);
        assertTrue(init.contains("_op.Input(\"slopes\", \"float32\", 1, lambda s: (s[\"H\"],), \"[H]\", True, \"Slope of each head.\")"), init);
        assertTrue(init.contains("mask_reads_inputs=False"), init);
        assertTrue(init.contains("return _package.attention(q, k, v, (slopes,), {}, return_lse)"), init);
        assertTrue(init.startsWith("\"\"\"ALiBi (Press et al. 2022)"), init);
        compiles(dir, init);
    }

    @Test
    void paramsAreKeywordOnlyWithTheirDefaults(@TempDir Path dir) throws Exception {
        String init = generate(example("softmax_sink"), List.of("sinks"), true);
        assertTrue(init.contains("\ndef attention(q, k, v, sinks, *, window=128, return_lse=False):\n"), init);
        assertTrue(init.contains("window (int): Causal window of keys. Default: 128."), init);
        assertTrue(init.contains("return _package.attention(q, k, v, (sinks,), {\"window\": window}, return_lse)"), init);
        compiles(dir, init);
    }

    @Test
    void raggedPrefillTakesThePackedBatchThenTheInputsAndParams(@TempDir Path dir) throws Exception {
        String init = generate(example("softmax_sink"), List.of("sinks"), true);
        assertTrue(init.contains("\ndef ragged_prefill(q, query_starts, k_pages, v_pages, block_table, kv_lengths, sinks, *, window=128, return_lse=False):\n"), init);
        assertTrue(init.contains("return _ragged.prefill(_package, q, query_starts, k_pages, v_pages, block_table, kv_lengths, (sinks,), {\"window\": window}, return_lse)"), init);
        assertTrue(init.contains("__all__ = [\"attention\", \"paged_decode\", \"ragged_prefill\""), init);
        assertTrue(init.contains("query_starts (torch.Tensor): int [B + 1]"), init);
        assertTrue(init.contains("for inference (no autograd"), init);
        String doc = run(dir, init, "print(m.ragged_prefill.__doc__.splitlines()[0])");
        assertEquals("Prefill of a ragged batch over a paged KV cache, for inference (no autograd: nothing is recorded for a\n", doc);
    }

    @Test
    void aGateGetsAGradientAndADocumentIdNone(@TempDir Path dir) throws Exception {
        String gated = generate(example("gated"), List.of("gate"), true);
        assertTrue(gated.contains("gate (torch.Tensor): float32 [B, H, Nq, Dv] (other float dtypes are converted). Gate logits"), gated);
        assertTrue(gated.contains("lambda s: (s[\"B\"], s[\"H\"], s[\"Nq\"], s[\"Dv\"])"), gated);
        compiles(dir, gated);
        String document = generate(example("document"), List.of(), true);
        assertTrue(document.contains("doc (torch.Tensor): int32 [B, Nkv] (int64 is converted). Document id of every position. No gradient (not a float input)."), document);
        assertTrue(document.contains("mask_reads_inputs=True"), document);
        compiles(dir, document);
    }

    @Test
    void symbolicSizesAreReadFromTheirInputAndDimsFollowAttncArithmetic(@TempDir Path dir) throws Exception {
        String init = generate(example("topk_blocks"), List.of(), true);
        // attnc's integer / is floored: Python's //.
        assertTrue(init.contains("lambda s: (s[\"B\"], s[\"H\"], (((s[\"Nkv\"] + 64) - 1) // 64), s[\"TopK\"])"), init);
        assertTrue(init.contains("sizes_from={\"TopK\": (0, 3)}"), init);
        compiles(dir, init);
    }

    @Test
    void quotesBackslashesAndPythonKeywordsSurvive(@TempDir Path dir) throws Exception {
        Pattern pattern = Frontend.compile("tricky.attn", """
                //! Says \"\"\"hi\"\"\" and \\n and "quotes", @NAME@ and $1; ends with a quote"
                /// A "width" \\ of keys.
                param lambda: int
                /// On or off.
                param flag: bool = true
                param temperature: float = 0.5
                /// Per-head bias "b".
                input from: float32[H]
                mask: q >= kv && q - kv < lambda
                score: (flag ? s / temperature : s) + from[h]
                norm: sigmoid(bias = -1.0)
                """);
        String init = generate(pattern, List.of("from"), false);
        assertTrue(init.contains("\ndef attention(q, k, v, from_, *, lambda_, flag=True, temperature=0.5, return_lse=False):\n"), init);
        assertTrue(init.contains("{\"lambda\": lambda_, \"flag\": flag, \"temperature\": temperature}"), init);
        assertTrue(init.contains("lambda_ (int): A \"width\" \\\\ of keys. Required."), init);
        assertTrue(init.contains("return_lse (bool): not available"), init);
        String docstring = run(dir, init, "print(m.attention.__doc__.splitlines()[0]); print(m.__doc__.splitlines()[0])");
        assertEquals("Says \"\"\"hi\"\"\" and \\n and \"quotes\", @NAME@ and $1; ends with a quote\"\n".repeat(2), docstring);
    }

    @Test
    void aDimPythonCannotCheckIsRefusedAtExport() {
        assertThrows(IllegalArgumentException.class, () -> TorchInit.python(new attnc.ir.Expr.FloatLit(1.0)));
        assertEquals("(s[\"Nq\"] // 2)", TorchInit.python(new attnc.ir.Expr.Binary(attnc.ir.BinaryOp.DIV,
                new attnc.ir.Expr.SizeRef("Nq"), new attnc.ir.Expr.IntLit(2))));
    }

    private static Pattern example(String name) throws Exception {
        return Frontend.compile(EXAMPLES.resolve(name + ".attn"));
    }

    private static String generate(Pattern pattern, List<String> gradients, boolean writesLse) {
        return TorchInit.generate(pattern, pattern.name() + ".attn", "0123", pattern.name() + "_abc", gradients, List.of(64, 128), writesLse);
    }

    /** python3 -m py_compile accepts the file. */
    static void compiles(Path dir, String init) throws Exception {
        Path file = Files.createTempFile(dir, "init", ".py");
        Files.writeString(file, init);
        python(dir, "-m", "py_compile", file.toString());
    }

    /**
     * Runs {@code code} with the module loaded as {@code m}, a stand-in for the runtime in place
     * of {@code ._op} (no torch here): what Python makes of the docstrings and the signature.
     */
    private static String run(Path dir, String init, String code) throws Exception {
        Path pkg = Files.createDirectories(dir.resolve("pkg"));
        Files.writeString(pkg.resolve("__init__.py"), init);
        Files.writeString(pkg.resolve("_op.py"), """
                class _Any:
                    def __init__(self, *args, **kwargs):
                        self.ops = self.stats = self.forget_tile_lists = None
                Input = Param = Package = _Any
                """);
        Files.writeString(pkg.resolve("_ragged.py"), "");
        return python(dir, "-c", "import pkg as m\n" + code);
    }

    private static String python(Path dir, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("python3"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 did not finish");
        assertEquals(0, p.exitValue(), "python3 " + String.join(" ", args) + " failed (these tests need python3 on PATH):\n" + out);
        return out;
    }
}

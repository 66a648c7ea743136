package attnc.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.tools.DocumentationTool;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated wrappers pass javadoc with every doclint check and warnings as errors, for a pattern
 * whose text and doc comments hold what HTML and javadoc treat specially ({@code && < > @ *}{@code /}).
 */
class WrapperJavadocTest {

    @Test
    void javadocAcceptsTheWrapperWithoutAWarning(@TempDir Path dir) throws Exception {
        var pattern = Frontend.compile("tricky.attn", """
                //! Keys with q - kv < window && q >= kv; see @Deprecated {@code x} <b>not bold</b> and */ too.
                /// Width of the window: < 1 means nothing is visible & > N means all is.
                param window: int = 128
                /// Per-head scale, e.g. {@link Foo} or @return.
                input slopes: float32[H]
                mask: q >= kv && q - kv < window
                score: s + slopes[h] * float(kv - q)
                """);
        var file = WrapperGenerator.generate(pattern, "gen", "nested/tricky.attn", "0");
        file.writeTo(dir.resolve("src"));
        String text = file.toString();
        assertTrue(text.contains("q - kv &lt; window &amp;&amp; q &gt;= kv"), text);

        DocumentationTool javadoc = ToolProvider.getSystemDocumentationTool();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        int status = javadoc.run(null, out, out, "-d", dir.resolve("doc").toString(), "-Xdoclint:all", "-Werror", "-quiet",
                "-cp", System.getProperty("java.class.path"),
                dir.resolve("src/gen/TrickyAttention.java").toString());
        String messages = log.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, messages);
        assertTrue(!messages.contains("warning"), messages);
    }

    @Test
    void escapingCoversHtmlTagsAndTheCommentsEnd() {
        assertEquals("a &amp;&amp; b &lt; c &gt; d &#64;e *&#47; f/g", WrapperGenerator.escape("a && b < c > d @e */ f/g"));
    }
}

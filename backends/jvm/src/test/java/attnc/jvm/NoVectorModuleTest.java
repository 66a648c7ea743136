package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.run.Attnc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A JVM started without {@code --add-modules jdk.incubator.vector} is told which flag to add, where the kernel is first made. */
class NoVectorModuleTest {

    /** Run in a JVM without the module: compiling through the public API must fail with the message, not a NoClassDefFoundError. */
    public static void main(String[] args) throws Exception {
        try {
            Attnc.compile("t.attn", "mask: q >= kv\n", "jvm", Map.of());
            System.out.println("compiled without the Vector API module?");
        } catch (IllegalStateException e) {
            System.out.println(e.getMessage());
        }
    }

    @Test
    void theMessageNamesTheFlagAndWhereToPutIt() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), NoVectorModuleTest.class.getName())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertFalse(output.contains("NoClassDefFoundError"), output);
        assertEquals(JvmBackend.NO_VECTOR_MODULE, output);
        assertEquals(0, process.exitValue(), output);
    }
}

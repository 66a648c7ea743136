package attnc.maven;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GeneratorJavaTest {

    private static Path jdk(Path dir, String release) throws Exception {
        Files.createDirectories(dir.resolve("bin"));
        Files.writeString(dir.resolve("bin/java"), "");
        if (release != null) Files.writeString(dir.resolve("release"), "IMPLEMENTOR=\"x\"\n" + release + "\nOS_NAME=\"Linux\"\n");
        return dir.resolve("bin/java");
    }

    @Test
    void versionsComeFromTheJdksReleaseFile(@TempDir Path dir) throws Exception {
        assertEquals(25, GeneratorJava.version(jdk(dir.resolve("a"), "JAVA_VERSION=\"25.0.1\"")));
        assertEquals(17, GeneratorJava.version(jdk(dir.resolve("b"), "JAVA_VERSION=\"17.0.15\"")));
        assertEquals(8, GeneratorJava.version(jdk(dir.resolve("c"), "JAVA_VERSION=\"1.8.0_402\"")));
        assertEquals(26, GeneratorJava.version(jdk(dir.resolve("d"), "JAVA_VERSION=\"26\"")));
        assertEquals(-1, GeneratorJava.version(jdk(dir.resolve("e"), null)), "no release file: unknown, tried anyway");
    }

    @Test
    void theRunningJdkIsRecognised() {
        assertEquals(Runtime.version().feature(), GeneratorJava.version(Path.of(System.getProperty("java.home"), "bin", "java")));
    }
}

package attnc.maven;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** What Maven reads of the plugin before running it: its descriptor, its class files, m2e's metadata. */
class PluginDescriptorTest {
    private static final Path CLASSES = Path.of("target/classes");

    private static String descriptor() throws Exception {
        return Files.readString(CLASSES.resolve("META-INF/maven/plugin.xml"));
    }

    @Test
    void theGoalsAndTheirUserPropertiesAreDeclared() throws Exception {
        String xml = descriptor();
        for (String goal : List.of("generate", "generate-test", "help")) assertTrue(xml.contains("<goal>" + goal + "</goal>"), goal);
        for (String property : List.of("attnc.skip", "attnc.packageName", "attnc.precompile", "attnc.java", "attnc.sourceDirectory",
                "attnc.testSourceDirectory", "attnc.packageSources")) {
            assertTrue(xml.contains("${" + property + "}"), property + " is a user property");
        }
        assertTrue(xml.contains("<requiredJavaVersion>17</requiredJavaVersion>"), "Maven 3.9 refuses older JVMs in words");
    }

    /** The plugin's class path has no GPU library: PTX and JCuda are resolved only when a build precompiles PTX. */
    @Test
    void noJcudaOnThePluginsClassPath() throws Exception {
        Matcher artifacts = Pattern.compile("<artifactId>([^<]+)</artifactId>").matcher(descriptor().substring(descriptor().indexOf("<dependencies>")));
        List<String> names = artifacts.results().map(r -> r.group(1)).toList();
        assertTrue(names.contains("attnc-backend-jvm"), names.toString());
        assertFalse(names.stream().anyMatch(n -> n.contains("jcuda") || n.equals("attnc-backend-ptx") || n.equals("attnc-cuda-runtime")), names.toString());
    }

    /** Maven's JVM loads these classes: Java 17 class files (major version 61), so Maven may run on 17. */
    @Test
    void theGoalsAreJava17ClassFiles() throws Exception {
        for (String name : List.of("GenerateMojo", "GenerateTestMojo", "AbstractGenerateMojo", "Generator", "GeneratorJava", "PtxBackendArtifacts")) {
            try (InputStream in = Files.newInputStream(CLASSES.resolve("attnc/maven/" + name + ".class"));
                 DataInputStream data = new DataInputStream(in)) {
                assertEquals(0xCAFEBABE, data.readInt());
                data.readUnsignedShort();
                assertEquals(61, data.readUnsignedShort(), name);
            }
        }
    }

    @Test
    void m2eRunsBothGoalsIncrementally() throws Exception {
        String metadata = Files.readString(CLASSES.resolve("META-INF/m2e/lifecycle-mapping-metadata.xml"));
        assertTrue(metadata.contains("<goal>generate</goal>") && metadata.contains("<goal>generate-test</goal>"), metadata);
        assertTrue(metadata.contains("<runOnIncremental>true</runOnIncremental>"), metadata);
    }
}

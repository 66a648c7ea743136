package attnc.maven;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.toolchain.Toolchain;
import org.apache.maven.toolchain.ToolchainManager;

/**
 * Finds the {@code java} that runs the generator: one named in the configuration, a JDK
 * toolchain, or Maven's own JVM; each must be Java 25 or newer, which a JDK's {@code release} file
 * tells without starting it.
 */
final class GeneratorJava {
    static final int REQUIRED = 25;
    private static final Pattern VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)(?:\\.(\\d+))?");

    private final String configured;
    private final Map<String, String> toolchainRequirements;
    private final ToolchainManager toolchains;
    private final MavenSession session;

    GeneratorJava(String configured, Map<String, String> toolchainRequirements, ToolchainManager toolchains, MavenSession session) {
        this.configured = configured;
        this.toolchainRequirements = toolchainRequirements;
        this.toolchains = toolchains;
        this.session = session;
    }

    Path find() throws MojoExecutionException {
        if (configured != null && !configured.isBlank()) {
            Path java = executable(Path.of(configured.trim()));
            if (!Files.isRegularFile(java)) {
                throw new MojoExecutionException("attnc: attnc.java = " + configured + ": no java at " + java
                        + "; expected a java executable of Java " + REQUIRED + " or newer, or the JDK folder holding bin/java");
            }
            return requireRecent(java, "attnc.java = " + configured);
        }
        if (toolchainRequirements != null && !toolchainRequirements.isEmpty()) {
            List<Toolchain> matching = toolchains.getToolchains(session, "jdk", toolchainRequirements);
            if (matching.isEmpty()) {
                throw new MojoExecutionException("attnc: no JDK toolchain matches <jdkToolchain> " + toolchainRequirements
                        + "; expected one in ~/.m2/toolchains.xml (see https://maven.apache.org/guides/mini/guide-using-toolchains.html)");
            }
            return requireRecent(Path.of(matching.get(0).findTool("java")), "the JDK toolchain " + toolchainRequirements);
        }
        Toolchain chosen = toolchains.getToolchainFromBuildContext("jdk", session);
        if (chosen != null && chosen.findTool("java") != null) {
            Path java = Path.of(chosen.findTool("java"));
            int version = version(java);
            if (version < 0 || version >= REQUIRED) return java;
        }
        if (Runtime.version().feature() >= REQUIRED) return executable(Path.of(System.getProperty("java.home")));
        throw new MojoExecutionException("attnc: the generator needs Java " + REQUIRED + " or newer, and Maven runs on Java "
                + Runtime.version() + " (" + System.getProperty("java.home") + "). Run Maven on a JDK " + REQUIRED
                + " (JAVA_HOME), or name one for the generator: -Dattnc.java=/path/to/jdk-" + REQUIRED
                + " (<javaExecutable> in the plugin's <configuration>), or <jdkToolchain><version>" + REQUIRED
                + "</version></jdkToolchain> with a matching JDK in ~/.m2/toolchains.xml");
    }

    private static Path requireRecent(Path java, String source) throws MojoExecutionException {
        int version = version(java);
        if (version >= 0 && version < REQUIRED) {
            throw new MojoExecutionException("attnc: " + source + " is Java " + version + " (" + java + "); the generator needs Java "
                    + REQUIRED + " or newer");
        }
        return java;
    }

    /** A java executable given itself or as its JDK folder. */
    private static Path executable(Path given) {
        if (Files.isDirectory(given)) {
            boolean windows = File.separatorChar == '\\';
            return given.resolve("bin").resolve(windows ? "java.exe" : "java");
        }
        return given;
    }

    /** The feature version of the JDK holding this java (from its release file), or -1 when unknown. */
    static int version(Path java) {
        Path home = java.toAbsolutePath().getParent() == null ? null : java.toAbsolutePath().getParent().getParent();
        if (home == null) return -1;
        try {
            for (String line : Files.readAllLines(home.resolve("release"))) {
                Matcher m = VERSION.matcher(line);
                if (m.find()) {
                    int major = Integer.parseInt(m.group(1));
                    // Java 8 and older spell themselves 1.8.0_...
                    return major == 1 && m.group(2) != null ? Integer.parseInt(m.group(2)) : major;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}

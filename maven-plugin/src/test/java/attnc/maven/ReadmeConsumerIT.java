package attnc.maven;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A user's first ten minutes, from README.md alone: the "Use from Maven" section's files (each
 * fenced block that starts with a comment naming its path) make a fresh project, which Maven
 * builds, tests and documents ({@code verify javadoc:jar}) against the artifacts this build just
 * installed (maven-invoker-plugin, pre-integration-test). Then Maven on Java 17, where a JDK is
 * there: it must generate through the plugin's own Java 25, or say which flag names one.
 */
class ReadmeConsumerIT {
    private static final Pattern BLOCK = Pattern.compile("```[a-z]*\\n((?:<!-- (\\S+) -->|// (\\S+))\\n.*?)```", Pattern.DOTALL);
    private final Path work = Path.of(System.getProperty("attnc.it.work"));

    /** The files the README's section lays out, by path. */
    static Map<String, String> projectFromReadme(String readme) {
        int start = readme.indexOf("## Use from Maven"), end = readme.indexOf("\n## ", start + 1);
        assertTrue(start >= 0, "README.md has a \"Use from Maven\" section");
        Matcher m = BLOCK.matcher(readme.substring(start, end < 0 ? readme.length() : end));
        Map<String, String> files = new LinkedHashMap<>();
        // Verbatim, the comment naming the path included: a comment in XML, Java and .attn alike.
        while (m.find()) files.put(m.group(2) != null ? m.group(2) : m.group(3), m.group(1));
        return files;
    }

    @Test
    void theReadmeProjectBuildsTestsAndDocuments() throws Exception {
        Map<String, String> files = projectFromReadme(Files.readString(Path.of(System.getProperty("attnc.readme"))));
        assertEquals(List.of("pom.xml", "src/main/attn/window.attn", "src/test/java/demo/WindowAttentionTest.java"), List.copyOf(files.keySet()));
        assertTrue(files.get("pom.xml").contains("<attnc.version>" + System.getProperty("attnc.version") + "</attnc.version>"),
                "the README names this build's version");
        Path project = write(work.resolve("readme-project"), files);

        Run run = maven(project, javaHome(), List.of("verify", "org.apache.maven.plugins:maven-javadoc-plugin:3.12.0:jar"));
        assertEquals(0, run.status(), run.output());
        assertTrue(run.output().contains("Tests run: 1, Failures: 0, Errors: 0, Skipped: 0"), run.output());
        assertTrue(Files.isRegularFile(project.resolve("target/generated-sources/attnc/demo/WindowAttention.java")));
        assertTrue(Files.isRegularFile(project.resolve("target/attention-demo-1.0-javadoc.jar")), run.output());
        assertFalse(run.output().contains("NoClassDefFoundError"), run.output());
    }

    @Test
    void mavenOnJava17GeneratesWithTheJavaItIsGiven() throws Exception {
        Path jdk17 = jdk17();
        Assumptions.assumeTrue(jdk17 != null, "no JDK 17 under /usr/lib/jvm");
        Map<String, String> files = projectFromReadme(Files.readString(Path.of(System.getProperty("attnc.readme"))));
        Path project = write(work.resolve("java17-project"), files);

        Run without = maven(project, jdk17, List.of("generate-sources"));
        assertEquals(1, without.status(), without.output());
        assertTrue(without.output().contains("attnc: the generator needs Java 25 or newer, and Maven runs on Java 17"), without.output());
        assertFalse(without.output().contains("API incompatibility"), without.output());

        Run with = maven(project, jdk17, List.of("generate-sources", "-Dattnc.java=" + javaHome()));
        assertEquals(0, with.status(), with.output());
        assertTrue(Files.isRegularFile(project.resolve("target/generated-sources/attnc/demo/WindowAttention.java")), with.output());
    }

    private record Run(int status, String output) {}

    private Run maven(Path project, Path javaHome, List<String> goals) throws Exception {
        // Everything but attnc's artifacts (installed by invoker) comes from the user's repository,
        // as for the invoker projects; a build run offline reaches nothing else (Maven's -o would
        // refuse even that file: repository).
        boolean offline = System.getProperty("attnc.offline", "").equals("offline=true");
        String userRepo = Path.of(System.getProperty("attnc.user.repo")).toUri().toString();
        Path settings = work.resolve("settings.xml");
        Files.createDirectories(work);
        Files.writeString(settings, """
                <settings>
                  %2$s
                  <profiles>
                    <profile>
                      <id>it-repo</id>
                      <activation><activeByDefault>true</activeByDefault></activation>
                      <repositories>
                        <repository><id>local.central</id><url>%1$s</url></repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository><id>local.central</id><url>%1$s</url></pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                </settings>
                """.formatted(userRepo, offline ? "<mirrors><mirror><id>user-repository</id><mirrorOf>*</mirrorOf><url>" + userRepo + "</url></mirror></mirrors>" : ""));
        String mvn = Path.of(System.getProperty("maven.home"), "bin", "mvn").toString();
        List<String> command = new ArrayList<>(List.of(mvn, "-B", "-ntp", "-s", settings.toString(),
                "-Dmaven.repo.local=" + System.getProperty("attnc.it.repo")));
        command.addAll(goals);
        ProcessBuilder builder = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", javaHome.toString());
        builder.environment().remove("MAVEN_OPTS");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(10, TimeUnit.MINUTES), output);
        Files.writeString(project.resolve("build.log"), output);
        return new Run(process.exitValue(), output);
    }

    private static Path write(Path root, Map<String, String> files) throws IOException {
        if (Files.exists(root)) {
            try (Stream<Path> old = Files.walk(root)) {
                for (Path p : old.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        for (var file : files.entrySet()) {
            Path target = root.resolve(file.getKey());
            Files.createDirectories(target.getParent());
            Files.writeString(target, file.getValue());
        }
        return root;
    }

    private static Path javaHome() {
        return Path.of(System.getProperty("java.home"));
    }

    private static Path jdk17() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) return null;
        try (Stream<Path> homes = Files.list(jvms)) {
            return homes.filter(h -> GeneratorJava.version(h.resolve("bin/java")) == 17 && Files.isExecutable(h.resolve("bin/java")))
                    .sorted().findFirst().orElse(null);
        }
    }
}

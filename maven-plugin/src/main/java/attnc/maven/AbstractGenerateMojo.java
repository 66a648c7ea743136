package attnc.maven;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.maven.artifact.Artifact;
import org.apache.maven.execution.MavenSession;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugin.descriptor.PluginDescriptor;
import org.apache.maven.plugins.annotations.Component;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;
import org.apache.maven.toolchain.ToolchainManager;
import org.codehaus.plexus.build.BuildContext;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.RepositorySystemSession;
import org.eclipse.aether.repository.RemoteRepository;

/**
 * What {@code generate} and {@code generate-test} share: the parameters, and one run of attnc's
 * generator in a JVM of its own. This class runs in Maven's JVM and needs only Java 17; the
 * generator needs Java 25 with the Vector API module, which the forked JVM gets whatever Maven
 * runs on. A build in the IDE (m2e) skips the fork when no .attn file changed.
 */
abstract class AbstractGenerateMojo extends AbstractMojo {

    /** Skips the goal. */
    @Parameter(property = "attnc.skip", defaultValue = "false")
    private boolean skip;

    /**
     * Package of wrappers for files directly in the source directory; each subfolder adds a
     * package segment ({@code nested/x.attn} → {@code <packageName>.nested.XAttention}).
     */
    @Parameter(property = "attnc.packageName", defaultValue = "attnc.generated")
    private String packageName;

    /**
     * Backends whose kernels are generated at build time and packaged with the classes, so the
     * wrapper loads them instead of generating code at run time: {@code jvm} (class files for this
     * machine's vector width), {@code ptx} (PTX text; resolves {@code dev.attnc:attnc-backend-ptx}
     * only when asked for). On the command line: {@code -Dattnc.precompile=jvm,ptx}.
     */
    @Parameter(property = "attnc.precompile")
    private List<String> precompile = List.of();

    /** Files to generate from, as globs relative to the source directory. */
    @Parameter
    private List<String> includes = List.of("**/*.attn");

    /** Files to leave out (they can still be imported), e.g. {@code experimental/**}. */
    @Parameter
    private List<String> excludes = List.of();

    /**
     * The {@code java} that runs the generator (Java 25 or newer), or a JDK folder holding
     * {@code bin/java}. Unset: the {@link #jdkToolchain}, else the JDK toolchain chosen for the
     * build (maven-toolchains-plugin), else the JVM that runs Maven if it is Java 25 or newer.
     */
    @Parameter(property = "attnc.java")
    private String javaExecutable;

    /** Requirements of a JDK toolchain for the generator, e.g. {@code <version>25</version>}. */
    @Parameter
    private Map<String, String> jdkToolchain;

    @Parameter(defaultValue = "${project}", readonly = true, required = true)
    MavenProject project;

    @Parameter(defaultValue = "${session}", readonly = true, required = true)
    private MavenSession session;

    @Parameter(defaultValue = "${plugin}", readonly = true, required = true)
    private PluginDescriptor plugin;

    @Parameter(defaultValue = "${repositorySystemSession}", readonly = true, required = true)
    private RepositorySystemSession repositorySession;

    @Parameter(defaultValue = "${project.remotePluginRepositories}", readonly = true, required = true)
    private List<RemoteRepository> pluginRepositories;

    @Component
    private ToolchainManager toolchains;

    @Component
    private RepositorySystem repositorySystem;

    @Component
    BuildContext buildContext;

    /** The goal's name, which keeps its exchange files with the generator apart from the other goal's. */
    abstract String goal();
    abstract File sources();
    abstract File javaOutput();
    abstract File resourceOutput();
    /** Where the build copies resources, so resources of removed patterns are deleted there too. */
    abstract File classesDirectory();
    /** Folders and jars whose {@code attn/} folder imports may come from. */
    abstract List<File> libraries();
    /** Adds the outputs to the build: a source root and a resource folder. */
    abstract void register(File javaOutput, File resourceOutput);

    @Override
    public void execute() throws MojoExecutionException, MojoFailureException {
        if (skip) {
            getLog().info("attnc: skipped (attnc.skip)");
            return;
        }
        if (!sources().isDirectory()) {
            getLog().info("attnc: no patterns (" + sources() + " does not exist)");
            return;
        }
        if (buildContext.isIncremental() && !buildContext.hasDelta(sources())) {
            register(javaOutput(), resourceOutput());
            return;
        }
        Generator.Result result = generator().run(request());
        buildContext.removeMessages(sources());
        result.changed().forEach(buildContext::refresh);
        if (!result.errors().isEmpty()) {
            for (Generator.Error e : result.errors()) {
                getLog().error(e.file() + ":[" + e.line() + "," + e.column() + "] " + e.message());
                buildContext.addMessage(new File(e.file()), e.line(), e.column(), e.message(), BuildContext.SEVERITY_ERROR, null);
            }
            Generator.Error first = result.errors().get(0);
            throw new MojoFailureException("attnc: " + result.errors().size() + " error(s) in .attn files; first: "
                    + first.file() + ":[" + first.line() + "," + first.column() + "] " + first.message());
        }
        getLog().info("attnc: " + result.patterns() + " pattern(s), " + result.written() + " file(s) written"
                + (result.removed() > 0 ? ", " + result.removed() + " of removed patterns deleted" : "")
                + (result.upToDate() ? " (up to date)" : ""));
        register(javaOutput(), resourceOutput());
    }

    private Generator.Request request() {
        List<String> libraries = new ArrayList<>();
        for (File f : libraries()) libraries.add(f.getAbsolutePath());
        return new Generator.Request(sources().toPath(), javaOutput().toPath(), resourceOutput().toPath(), packageName,
                precompileList(), includes, excludes, libraries, List.of(classesDirectory().getAbsolutePath()), plugin.getVersion());
    }

    /** {@code -Dattnc.precompile=jvm,ptx} arrives as one element; the POM's list as several. */
    private List<String> precompileList() {
        List<String> names = new ArrayList<>();
        for (String entry : precompile) {
            for (String name : entry.split(",")) if (!name.isBlank()) names.add(name.trim());
        }
        return names;
    }

    private Generator generator() throws MojoExecutionException {
        Path java = new GeneratorJava(javaExecutable, jdkToolchain, toolchains, session).find();
        List<Path> classPath = new ArrayList<>();
        for (Artifact a : plugin.getArtifacts()) {
            if (a.getFile() != null) classPath.add(a.getFile().toPath());
        }
        if (precompileList().contains("ptx")) {
            classPath.addAll(new PtxBackendArtifacts(repositorySystem, repositorySession, pluginRepositories)
                    .resolve(plugin.getGroupId(), plugin.getVersion()));
        }
        try {
            return new Generator(java, classPath, getLog(), Path.of(project.getBuild().getDirectory(), "attnc", goal()));
        } catch (IOException e) {
            throw new MojoExecutionException("attnc: cannot prepare the generator: " + e.getMessage(), e);
        }
    }

    /** The project's dependency jars (and reactor classes folders) of the given scopes, in class-path order. */
    List<File> dependencyFiles(List<String> scopes) {
        List<File> files = new ArrayList<>();
        for (Artifact a : project.getArtifacts()) {
            if (a.getFile() != null && scopes.contains(a.getScope())) files.add(a.getFile());
        }
        return files;
    }
}

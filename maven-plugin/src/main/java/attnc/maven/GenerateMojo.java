package attnc.maven;

import attnc.export.Generation;
import java.io.File;
import java.io.IOException;
import java.util.List;
import org.apache.maven.plugin.AbstractMojo;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProject;

/**
 * Compiles every {@code .attn} file under {@code src/main/attn} into a typed Java wrapper (and the
 * kernels the configured backends can precompile), like the antlr4 and protobuf plugins do for
 * their sources: generated code goes under {@code target/generated-sources/attnc} and joins the
 * compile. A pattern error fails the build with {@code file:[line,col] message}, as javac does.
 */
@Mojo(name = "generate", defaultPhase = LifecyclePhase.GENERATE_SOURCES, threadSafe = true)
public final class GenerateMojo extends AbstractMojo {

    @Parameter(defaultValue = "${project.basedir}/src/main/attn", required = true)
    private File sourceDirectory;

    @Parameter(defaultValue = "${project.build.directory}/generated-sources/attnc", required = true)
    private File outputDirectory;

    /** Where precompiled kernels (class files, PTX) go; they are packaged with the classes. */
    @Parameter(defaultValue = "${project.build.directory}/generated-resources/attnc", required = true)
    private File resourceDirectory;

    /** Package of wrappers for files directly in the source directory; subfolders add to it. */
    @Parameter(defaultValue = "attnc.generated")
    private String packageName;

    /** Backends whose kernels are precompiled at build time, if they can export (e.g. jvm, ptx). */
    @Parameter
    private List<String> precompile = List.of();

    @Parameter(defaultValue = "${project}", readonly = true, required = true)
    private MavenProject project;

    @Override
    public void execute() throws MojoExecutionException, MojoFailureException {
        if (!sourceDirectory.isDirectory()) {
            getLog().info("attnc: no patterns (" + sourceDirectory + " does not exist)");
            return;
        }
        Generation.Outcome outcome;
        try {
            outcome = new Generation(sourceDirectory.toPath(), outputDirectory.toPath(), resourceDirectory.toPath(),
                    packageName, precompile).run();
        } catch (IOException e) {
            throw new MojoExecutionException("attnc: cannot generate sources: " + e.getMessage(), e);
        }
        if (!outcome.errors().isEmpty()) {
            outcome.errors().forEach(getLog()::error);
            throw new MojoFailureException("attnc: " + outcome.errors().size() + " error(s) in .attn files; first: "
                    + outcome.errors().getFirst());
        }
        getLog().info("attnc: " + outcome.patterns() + " pattern(s), " + outcome.written() + " file(s) written"
                + (outcome.upToDate() ? " (up to date)" : ""));
        project.addCompileSourceRoot(outputDirectory.getPath());
        org.apache.maven.model.Resource resource = new org.apache.maven.model.Resource();
        resource.setDirectory(resourceDirectory.getPath());
        project.addResource(resource);
    }
}

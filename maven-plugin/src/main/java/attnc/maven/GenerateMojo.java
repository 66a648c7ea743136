package attnc.maven;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.maven.model.Resource;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;

/**
 * Compiles every {@code .attn} file under {@code src/main/attn} into a typed Java wrapper (and the
 * kernels the configured backends can precompile), like the antlr4 and protobuf plugins do for
 * their sources: generated code goes under {@code target/generated-sources/attnc} and joins the
 * compile; precompiled kernels go under {@code target/generated-resources/attnc} and into the jar.
 * The .attn files themselves are packaged under {@code attn/}, so projects depending on this one
 * can import them. A pattern error fails the build with {@code file:[line,col] message}, as javac
 * does.
 */
@Mojo(name = "generate", defaultPhase = LifecyclePhase.GENERATE_SOURCES, threadSafe = true,
        requiresDependencyResolution = ResolutionScope.COMPILE)
public final class GenerateMojo extends AbstractGenerateMojo {

    /** Where the .attn files are. */
    @Parameter(property = "attnc.sourceDirectory", defaultValue = "${project.basedir}/src/main/attn", required = true)
    private File sourceDirectory;

    /** Where the wrappers' Java sources go. */
    @Parameter(defaultValue = "${project.build.directory}/generated-sources/attnc", required = true)
    private File outputDirectory;

    /** Where precompiled kernels (class files, PTX) go; they are packaged with the classes. */
    @Parameter(defaultValue = "${project.build.directory}/generated-resources/attnc", required = true)
    private File resourceDirectory;

    /** Whether the .attn files are packaged under {@code attn/}, importable by projects that depend on this one. */
    @Parameter(property = "attnc.packageSources", defaultValue = "true")
    private boolean packageSources;

    @Override String goal() { return "generate"; }
    @Override File sources() { return sourceDirectory; }
    @Override File javaOutput() { return outputDirectory; }
    @Override File resourceOutput() { return resourceDirectory; }
    @Override File classesDirectory() { return new File(project.getBuild().getOutputDirectory()); }

    @Override
    List<File> libraries() {
        return dependencyFiles(List.of("compile", "provided", "system"));
    }

    private void removePackagedSourcesThatAreGone() {
        Path packaged = classesDirectory().toPath().resolve("attn");
        try {
            for (Path gone : PackagedSources.removeGone(sourceDirectory.toPath(), packaged)) buildContext.refresh(gone.toFile());
        } catch (IOException e) {
            getLog().warn("attnc: cannot check " + packaged + " for .attn files whose source is gone: " + e.getMessage());
        }
    }

    @Override
    void register(File javaOutput, File resourceOutput) {
        project.addCompileSourceRoot(javaOutput.getPath());
        Resource resources = new Resource();
        resources.setDirectory(resourceOutput.getPath());
        project.addResource(resources);
        if (packageSources) {
            removePackagedSourcesThatAreGone();
            Resource sources = new Resource();
            sources.setDirectory(sourceDirectory.getPath());
            sources.setTargetPath("attn");
            sources.addInclude("**/*.attn");
            project.addResource(sources);
        }
    }
}

package attnc.maven;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import org.apache.maven.model.Resource;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.plugins.annotations.ResolutionScope;

/**
 * {@code generate} for tests: wrappers of {@code src/test/attn} under
 * {@code target/generated-test-sources/attnc}, compiled with the tests and never packaged.
 * Patterns here may import files of {@code src/main/attn} and of test dependencies.
 */
@Mojo(name = "generate-test", defaultPhase = LifecyclePhase.GENERATE_TEST_SOURCES, threadSafe = true,
        requiresDependencyResolution = ResolutionScope.TEST)
public final class GenerateTestMojo extends AbstractGenerateMojo {

    /** Where the test .attn files are. */
    @Parameter(property = "attnc.testSourceDirectory", defaultValue = "${project.basedir}/src/test/attn", required = true)
    private File testSourceDirectory;

    /** The main .attn files, importable from test patterns. */
    @Parameter(defaultValue = "${project.basedir}/src/main/attn", required = true)
    private File sourceDirectory;

    /** Where the test wrappers' Java sources go. */
    @Parameter(defaultValue = "${project.build.directory}/generated-test-sources/attnc", required = true)
    private File testOutputDirectory;

    /** Where kernels precompiled for the test patterns go. */
    @Parameter(defaultValue = "${project.build.directory}/generated-test-resources/attnc", required = true)
    private File testResourceDirectory;

    @Override String goal() { return "generate-test"; }
    @Override File sources() { return testSourceDirectory; }
    @Override File javaOutput() { return testOutputDirectory; }
    @Override File resourceOutput() { return testResourceDirectory; }
    @Override File classesDirectory() { return new File(project.getBuild().getTestOutputDirectory()); }

    @Override
    List<File> libraries() {
        List<File> libraries = new ArrayList<>();
        libraries.add(sourceDirectory);
        libraries.addAll(dependencyFiles(List.of("compile", "provided", "system", "runtime", "test")));
        return libraries;
    }

    @Override
    void register(File javaOutput, File resourceOutput) {
        project.addTestCompileSourceRoot(javaOutput.getPath());
        Resource resources = new Resource();
        resources.setDirectory(resourceOutput.getPath());
        project.addTestResource(resources);
    }
}

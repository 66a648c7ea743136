package attnc.maven;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.maven.plugin.MojoExecutionException;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.RepositorySystemSession;
import org.eclipse.aether.artifact.DefaultArtifact;
import org.eclipse.aether.collection.CollectRequest;
import org.eclipse.aether.graph.Dependency;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.resolution.ArtifactResult;
import org.eclipse.aether.resolution.DependencyRequest;
import org.eclipse.aether.resolution.DependencyResolutionException;
import org.eclipse.aether.graph.DependencyFilter;

/**
 * The PTX backend and what it needs (JCuda), resolved only for builds that precompile PTX, so the
 * plugin itself carries no GPU libraries. Same version as the plugin.
 */
final class PtxBackendArtifacts {
    static final String ARTIFACT = "attnc-backend-ptx";

    private final RepositorySystem system;
    private final RepositorySystemSession session;
    private final List<RemoteRepository> repositories;

    PtxBackendArtifacts(RepositorySystem system, RepositorySystemSession session, List<RemoteRepository> repositories) {
        this.system = system;
        this.session = session;
        this.repositories = repositories;
    }

    List<Path> resolve(String groupId, String version) throws MojoExecutionException {
        String coordinates = groupId + ":" + ARTIFACT + ":" + version;
        CollectRequest collect = new CollectRequest(new Dependency(new DefaultArtifact(coordinates), "runtime"), repositories);
        // What the backend needs at run time: compile and runtime scopes (Maven's API does not export resolver-util's filters).
        DependencyFilter runtime = (node, parents) -> node.getDependency() == null
                || List.of("compile", "runtime").contains(node.getDependency().getScope());
        DependencyRequest request = new DependencyRequest(collect, runtime);
        try {
            List<Path> files = new ArrayList<>();
            for (ArtifactResult result : system.resolveDependencies(session, request).getArtifactResults()) {
                files.add(result.getArtifact().getFile().toPath());
            }
            return files;
        } catch (DependencyResolutionException e) {
            throw new MojoExecutionException("attnc: <precompile>ptx</precompile> needs " + coordinates + ", which cannot be resolved: "
                    + e.getMessage(), e);
        }
    }
}

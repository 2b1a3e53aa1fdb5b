"""Generator of distributed_sampler.json (run with a Python that has torch; the tests never need it):
torch.utils.data.DistributedSampler's indices per rank with shuffle=False (the dealing itself), for a few
data set sizes and world sizes. data_parallel_test.ts compares rankBatches() with them."""
import json

from torch.utils.data import DistributedSampler

cases = []
for n, world in [(7, 2), (8, 2), (10, 3), (3, 4), (25, 4)]:
    ranks = [list(DistributedSampler(range(n), num_replicas=world, rank=r, shuffle=False)) for r in range(world)]
    cases.append({"n": n, "world": world, "ranks": ranks})
print(json.dumps(cases))

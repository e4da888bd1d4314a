import os

from config.database import forget_inherited_pools

os.register_at_fork(after_in_child=forget_inherited_pools)

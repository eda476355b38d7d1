UPDATE snapshot_info SET complete = false, allowed_incomplete = false;
